"""Vertex AI models, endpoints, batch prediction and Pub/Sub in the stand-in, through the real SDKs."""

from __future__ import annotations

import json
import uuid
from collections import Counter

import pandas as pd
import pytest
from google.api_core import exceptions

from ds500 import churn_model, cloud, fixtures

IMAGE = "us-central1-docker.pkg.dev/ds500-local/ds500/churn-predictor:v1"
ROUTES = dict(
    serving_container_predict_route="/predict",
    serving_container_health_route="/health",
    serving_container_ports=[8080],
)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    context = cloud.context(False, "", "us-central1")
    bucket = context.storage_client().create_bucket(f"serving-{uuid.uuid4().hex[:8]}")
    frame = fixtures.load("telco_churn").head(600)
    model_dir = churn_model.build_reference_model_dir(tmp_path_factory.mktemp("m") / "1", frame=frame, seed=0)
    for path in model_dir.iterdir():
        bucket.blob(f"model/1/{path.name}").upload_from_filename(path)
    rows = json.loads(frame[list(churn_model.FEATURES)].head(70).to_json(orient="records"))
    bucket.blob("batch/in.jsonl").upload_from_string("".join(json.dumps(r) + "\n" for r in rows))
    object.__setattr__(context, "bucket", bucket)  # CloudContext is frozen: test data rides along
    object.__setattr__(context, "rows", rows)
    object.__setattr__(context, "model_dir", model_dir)
    yield context
    bucket.delete(force=True)


def upload(ctx, **kwargs):
    from google.cloud import aiplatform

    args = dict(
        display_name="churn",
        artifact_uri=f"gs://{ctx.bucket.name}/model/1",
        serving_container_image_uri=IMAGE,
        **ROUTES,
    )
    return aiplatform.Model.upload(**{**args, **kwargs})


@pytest.fixture(scope="module")
def model(ctx):
    first = upload(ctx)
    yield first
    first.delete()


@pytest.fixture()
def endpoint(ctx, model):
    from google.cloud import aiplatform

    created = aiplatform.Endpoint.create(display_name="churn-endpoint")
    created.deploy(model=model, machine_type="n1-standard-2", traffic_percentage=100)
    yield created
    created.delete(force=True)


# -- models ----------------------------------------------------------------------------------
def test_upload_versions_aliases_and_lookup(ctx, model):
    from google.cloud import aiplatform

    second = upload(
        ctx, parent_model=model.resource_name, is_default_version=False, version_aliases=["challenger"]
    )
    assert (model.version_id, second.version_id) == ("1", "2")
    assert second.resource_name == model.resource_name
    assert [v.version_id for v in model.versioning_registry.list_versions()] == ["1", "2"]
    assert aiplatform.Model(f"{model.resource_name}@challenger").version_id == "2"
    assert aiplatform.Model(model.resource_name).version_id == "1"  # the default version
    assert [m.resource_name for m in aiplatform.Model.list(filter='display_name="churn"')] == [
        model.resource_name
    ]
    with pytest.raises(exceptions.BadRequest, match="already held by version 2"):
        upload(ctx, parent_model=model.resource_name, version_aliases=["challenger"])
    with pytest.raises(exceptions.BadRequest, match="default version"):
        model.versioning_registry.delete_version("1")
    model.versioning_registry.delete_version("2")
    assert [v.version_id for v in model.versioning_registry.list_versions()] == ["1"]


def test_new_default_version_moves_the_alias(ctx):
    first = upload(ctx, display_name="moving")
    second = upload(ctx, display_name="moving", parent_model=first.resource_name, is_default_version=True)
    from google.cloud import aiplatform

    assert aiplatform.Model(first.resource_name).version_id == second.version_id == "2"
    first.delete()
    with pytest.raises(exceptions.NotFound):
        aiplatform.Model(first.resource_name)


@pytest.mark.parametrize(
    "change, error, text",
    [
        (
            {"serving_container_image_uri": "churn-predictor:latest"},
            exceptions.BadRequest,
            "container image path",
        ),
        ({"artifact_uri": "gs://nowhere-bucket/model/1"}, exceptions.NotFound, "nowhere-bucket"),
        ({"labels": {"Course": "ds500"}}, exceptions.BadRequest, "label key"),
        ({"version_aliases": ["2"]}, exceptions.BadRequest, "version alias"),
    ],
)
def test_upload_rules(ctx, change, error, text):
    with pytest.raises(error, match=text):
        upload(ctx, **change)


def test_artifact_uri_in_an_existing_bucket_but_empty_folder_is_a_404(ctx):
    with pytest.raises(exceptions.NotFound, match="upload the files first"):
        upload(ctx, artifact_uri=f"gs://{ctx.bucket.name}/model/9")


def test_artifact_uri_must_be_cloud_storage(ctx):
    from google.cloud import aiplatform_v1

    client = ctx.client(aiplatform_v1.ModelServiceClient)
    model = {
        "display_name": "s3",
        "artifact_uri": "s3://bucket/model",
        "container_spec": {"image_uri": IMAGE},
    }
    with pytest.raises(exceptions.BadRequest, match="Cloud Storage folder"):
        client.upload_model(parent=f"projects/{ctx.project_id}/locations/us-central1", model=model)


# -- endpoints --------------------------------------------------------------------------------
def test_predict_answers_with_the_lab_10_service(ctx, endpoint, model):
    answer = endpoint.predict(instances=ctx.rows[:3])
    assert len(answer.predictions) == 3 and set(answer.predictions[0]) == {"churn", "churn_probability"}
    assert answer.deployed_model_id == endpoint.list_models()[0].id and answer.model_version_id == "1"
    direct = churn_model.load_model_dir(ctx.model_dir).predict(pd.DataFrame(ctx.rows[:3]))
    assert [p["churn_probability"] for p in answer.predictions] == [p["churn_probability"] for p in direct]


def test_predict_refusal_is_a_400_with_the_service_message(ctx, endpoint):
    with pytest.raises(exceptions.BadRequest, match="tenure"):
        endpoint.predict(instances=[{k: v for k, v in ctx.rows[0].items() if k != "tenure"}])


def test_canary_split_routes_by_percentage_and_names_only_deployed_models(ctx, endpoint, model):
    champion = endpoint.list_models()[0].id
    with pytest.raises(exceptions.BadRequest, match="not on this endpoint"):
        endpoint.deploy(model=model, machine_type="n1-standard-2", traffic_split={"0": 10, "123": 90})
    with pytest.raises(ValueError):  # the SDK checks the sum itself
        endpoint.deploy(model=model, machine_type="n1-standard-2", traffic_split={"0": 10, champion: 80})
    endpoint.deploy(model=model, machine_type="n1-standard-2", traffic_split={"0": 30, champion: 70})
    split = endpoint.traffic_split
    canary = next(k for k in split if k != champion)
    assert split == {champion: 70, canary: 30}
    counts = Counter(endpoint.predict(instances=ctx.rows[:1]).deployed_model_id for _ in range(30))
    assert set(counts) == {champion, canary} and counts[champion] > counts[canary]
    endpoint.undeploy(canary)
    assert endpoint.traffic_split == {champion: 100}


@pytest.mark.parametrize(
    "kwargs, text",
    [
        ({"machine_type": "n1-standard-3"}, "not offered"),
        (
            {
                "machine_type": "n1-standard-2",
                "accelerator_type": "NVIDIA_TESLA_A100",
                "accelerator_count": 1,
            },
            "cannot be attached",
        ),
    ],
)
def test_deploy_resource_rules(ctx, model, kwargs, text):
    from google.cloud import aiplatform

    created = aiplatform.Endpoint.create(display_name="rules")
    try:
        with pytest.raises(exceptions.BadRequest, match=text):
            created.deploy(model=model, **kwargs)
    finally:
        created.delete(force=True)


def test_deploy_replica_rule(ctx, model):
    from google.cloud import aiplatform, aiplatform_v1

    created = aiplatform.Endpoint.create(display_name="replicas")
    client = ctx.client(aiplatform_v1.EndpointServiceClient)
    resources = {
        "machine_spec": {"machine_type": "n1-standard-2"},
        "min_replica_count": 3,
        "max_replica_count": 2,
    }
    try:
        with pytest.raises(exceptions.BadRequest, match="maxReplicaCount"):  # the SDK would raise max to min
            client.deploy_model(
                endpoint=created.resource_name,
                traffic_split={"0": 100},
                deployed_model={"model": model.resource_name, "dedicated_resources": resources},
            ).result()
    finally:
        created.delete(force=True)


def test_deployed_endpoint_and_model_cannot_be_deleted(ctx, endpoint, model):
    with pytest.raises(exceptions.BadRequest, match="still has deployed models"):
        endpoint.delete()
    with pytest.raises(exceptions.BadRequest, match="undeploy it"):
        model.delete()


# -- batch prediction ---------------------------------------------------------------------------
def test_batch_prediction_writes_predictions_to_the_bucket(ctx, model):
    job = model.batch_predict(
        job_display_name="monthly",
        gcs_source=f"gs://{ctx.bucket.name}/batch/in.jsonl",
        instances_format="jsonl",
        predictions_format="jsonl",
        gcs_destination_prefix=f"gs://{ctx.bucket.name}/batch/out",
        machine_type="n1-standard-2",
        sync=True,
    )
    assert job.state.name == "JOB_STATE_SUCCEEDED" and job.completion_stats.successful_count == 70
    folder = job.output_info.gcs_output_directory
    assert folder.startswith(f"gs://{ctx.bucket.name}/batch/out/prediction-churn-")
    blob = ctx.bucket.blob(folder.split("/", 3)[3] + "/predictions_0001.jsonl")
    lines = [json.loads(line) for line in blob.download_as_text().splitlines()]
    assert (
        len(lines) == 70
        and lines[0]["instance"] == ctx.rows[0]
        and "churn_probability" in lines[0]["prediction"]
    )
    job.delete()


def test_batch_prediction_input_must_exist(ctx, model):
    with pytest.raises(exceptions.NotFound):
        model.batch_predict(
            job_display_name="missing",
            gcs_source=f"gs://{ctx.bucket.name}/batch/none.jsonl",
            instances_format="jsonl",
            gcs_destination_prefix=f"gs://{ctx.bucket.name}/out",
            machine_type="n1-standard-2",
            sync=True,
        )


# -- Pub/Sub ----------------------------------------------------------------------------------
@pytest.fixture()
def pubsub(ctx):
    from google.cloud import pubsub_v1

    publisher = ctx.client(pubsub_v1.PublisherClient, service="pubsub")
    subscriber = ctx.client(pubsub_v1.SubscriberClient, service="pubsub")
    topic = publisher.topic_path(ctx.project_id, f"t-{uuid.uuid4().hex[:6]}")
    subscription = subscriber.subscription_path(ctx.project_id, f"s-{uuid.uuid4().hex[:6]}")
    publisher.create_topic(name=topic)
    subscriber.create_subscription(name=subscription, topic=topic, ack_deadline_seconds=10)
    yield publisher, subscriber, topic, subscription
    subscriber.delete_subscription(subscription=subscription)
    publisher.delete_topic(topic=topic)


def test_publish_pull_acknowledge(pubsub):
    publisher, subscriber, topic, subscription = pubsub
    futures = [publisher.publish(topic, json.dumps({"i": i}).encode(), customer=str(i)) for i in range(5)]
    assert len({f.result() for f in futures}) == 5
    pulled = subscriber.pull(subscription=subscription, max_messages=3).received_messages
    assert [json.loads(m.message.data)["i"] for m in pulled] == [0, 1, 2]
    assert pulled[0].message.attributes["customer"] == "0"
    subscriber.acknowledge(subscription=subscription, ack_ids=[m.ack_id for m in pulled])
    rest = subscriber.pull(subscription=subscription, max_messages=10).received_messages
    assert [json.loads(m.message.data)["i"] for m in rest] == [
        3,
        4,
    ]  # leased ones are not sent again before the deadline
    assert not subscriber.pull(subscription=subscription, max_messages=10).received_messages


def test_pubsub_rules(ctx, pubsub):
    publisher, subscriber, topic, _ = pubsub
    with pytest.raises(exceptions.NotFound):
        publisher.publish(publisher.topic_path(ctx.project_id, "no-such-topic"), b"x").result()
    with pytest.raises(exceptions.NotFound):
        subscriber.create_subscription(
            name=subscriber.subscription_path(ctx.project_id, "orphan"),
            topic=publisher.topic_path(ctx.project_id, "no-such-topic"),
        )
    with pytest.raises(exceptions.Conflict):  # 409 ALREADY_EXISTS
        publisher.create_topic(name=topic)
    with pytest.raises(exceptions.BadRequest, match="not a valid Pub/Sub id"):
        publisher.create_topic(name=publisher.topic_path(ctx.project_id, "goog-topic"))
    with pytest.raises(exceptions.BadRequest, match="between 10 and 600"):
        subscriber.create_subscription(
            name=subscriber.subscription_path(ctx.project_id, "short"), topic=topic, ack_deadline_seconds=5
        )
