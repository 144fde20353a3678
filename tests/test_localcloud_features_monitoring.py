"""Feature Store, Model Monitoring and Cloud Monitoring alert policies in the local stand-in.

Each rule: the real SDK call that breaks it and the exception google-api-core raises.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("NO_GCE_CHECK", "true")

from google.api_core import exceptions  # noqa: E402

from ds500 import cloud  # noqa: E402

REGION = "us-central1"


@pytest.fixture(scope="module")
def ctx():
    return cloud.context(False, "", REGION)


@pytest.fixture(scope="module")
def v1():
    from google.cloud import aiplatform_v1

    return aiplatform_v1


@pytest.fixture(scope="module")
def parent(ctx):
    return f"projects/{ctx.project_id}/locations/{REGION}"


def _group(ctx, v1, parent, group_id, columns=("entity_id",), uri=None):
    client = ctx.client(v1.FeatureRegistryServiceClient)
    group = v1.FeatureGroup(
        big_query=v1.FeatureGroup.BigQuery(
            big_query_source=v1.BigQuerySource(input_uri=uri or f"bq://{ctx.project_id}.ds.features"),
            entity_id_columns=list(columns),
        )
    )
    return client, client.create_feature_group(
        parent=parent, feature_group_id=group_id, feature_group=group
    ).result()


def _store(ctx, v1, parent, store_id, low=1, high=2):
    client = ctx.client(v1.FeatureOnlineStoreAdminServiceClient)
    scaling = v1.FeatureOnlineStore.Bigtable.AutoScaling(
        min_node_count=low, max_node_count=high, cpu_utilization_target=50
    )
    store = v1.FeatureOnlineStore(bigtable=v1.FeatureOnlineStore.Bigtable(auto_scaling=scaling))
    return client, client.create_feature_online_store(
        parent=parent, feature_online_store_id=store_id, feature_online_store=store
    ).result()


def _view(v1, admin, store, view_id, group_id, features, cron="TZ=Etc/UTC 0 6 * * 1"):
    source = v1.FeatureView.FeatureRegistrySource(
        feature_groups=[
            v1.FeatureView.FeatureRegistrySource.FeatureGroup(feature_group_id=group_id, feature_ids=features)
        ]
    )
    view = v1.FeatureView(feature_registry_source=source, sync_config=v1.FeatureView.SyncConfig(cron=cron))
    return admin.create_feature_view(parent=store.name, feature_view_id=view_id, feature_view=view).result()


# -- Feature Store -------------------------------------------------------------------------
def test_feature_store_round_trip(ctx, v1, parent):
    from google.iam.v1 import iam_policy_pb2, policy_pb2

    registry, group = _group(ctx, v1, parent, "rt_group")
    registry.create_feature(
        parent=group.name, feature_id="tenure", feature=v1.Feature(description="months")
    ).result()
    admin, store = _store(ctx, v1, parent, "rt_store")
    assert store.state == v1.FeatureOnlineStore.State.STABLE
    view = _view(v1, admin, store, "rt_view", "rt_group", ["tenure"])
    sync = admin.get_feature_view_sync(name=admin.sync_feature_view(feature_view=view.name).feature_view_sync)
    assert "simulated" in sync.final_status.message and sync.sync_summary.row_synced == 0
    with pytest.raises(exceptions.NotFound, match="Requested entity was not found"):
        ctx.client(v1.FeatureOnlineStoreServiceClient).fetch_feature_values(
            feature_view=view.name, data_key=v1.FeatureViewDataKey(key="7590-VHVEG")
        )
    member = f"serviceAccount:serving@{ctx.project_id}.iam.gserviceaccount.com"
    policy = policy_pb2.Policy(
        bindings=[policy_pb2.Binding(role="roles/aiplatform.featurestoreDataViewer", members=[member])]
    )
    admin.set_iam_policy(request=iam_policy_pb2.SetIamPolicyRequest(resource=view.name, policy=policy))
    got = admin.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=view.name))
    assert list(got.bindings[0].members) == [member]
    with pytest.raises(exceptions.BadRequest, match="force=True"):
        admin.delete_feature_online_store(name=store.name).result()
    admin.delete_feature_online_store(
        request=v1.DeleteFeatureOnlineStoreRequest(name=store.name, force=True)
    ).result()
    with pytest.raises(exceptions.BadRequest, match="force=True"):
        registry.delete_feature_group(name=group.name).result()
    registry.delete_feature_group(request=v1.DeleteFeatureGroupRequest(name=group.name, force=True)).result()
    assert not [n for n in ctx.leftovers() if "rt_" in n]


def test_feature_group_needs_a_bigquery_uri_and_entity_columns(ctx, v1, parent):
    with pytest.raises(exceptions.BadRequest, match="bq://PROJECT.DATASET.TABLE"):
        _group(ctx, v1, parent, "bad_uri", uri="gs://bucket/table.csv")
    with pytest.raises(exceptions.BadRequest, match="entityIdColumns"):
        _group(ctx, v1, parent, "no_columns", columns=())
    with pytest.raises(exceptions.BadRequest, match="not a BigQuery column"):
        _group(ctx, v1, parent, "bad_column", columns=("customer id",))
    with pytest.raises(exceptions.BadRequest, match="lowercase"):
        _group(ctx, v1, parent, "Churn-Features")


def test_feature_needs_its_group(ctx, v1, parent):
    client = ctx.client(v1.FeatureRegistryServiceClient)
    with pytest.raises(exceptions.NotFound):
        client.create_feature(
            parent=f"{parent}/featureGroups/missing", feature_id="x", feature=v1.Feature()
        ).result()


@pytest.mark.parametrize(("low", "high", "match"), [(0, 2, "at least 1"), (3, 2, "must not be smaller")])
def test_online_store_node_counts(ctx, v1, parent, low, high, match):
    with pytest.raises(exceptions.BadRequest, match=match):
        _store(ctx, v1, parent, f"nodes_{low}_{high}", low, high)


def test_feature_view_rules(ctx, v1, parent):
    registry, group = _group(ctx, v1, parent, "view_rules")
    registry.create_feature(parent=group.name, feature_id="tenure", feature=v1.Feature()).result()
    admin, store = _store(ctx, v1, parent, "view_rules_store")
    with pytest.raises(exceptions.NotFound, match="not registered"):
        _view(v1, admin, store, "v1", "view_rules", ["contract"])
    with pytest.raises(exceptions.NotFound, match="register it"):
        _view(v1, admin, store, "v2", "no_such_group", ["tenure"])
    with pytest.raises(exceptions.BadRequest, match="not a valid hour"):
        _view(v1, admin, store, "v3", "view_rules", ["tenure"], cron="0 25 * * 1")
    admin.delete_feature_online_store(
        request=v1.DeleteFeatureOnlineStoreRequest(name=store.name, force=True)
    ).result()
    registry.delete_feature_group(request=v1.DeleteFeatureGroupRequest(name=group.name, force=True)).result()


@pytest.mark.parametrize(
    ("role", "member", "match"),
    [
        ("roles/aiplatform.featureViewReader", "user:ana@example.com", "not a predefined role"),
        ("roles/aiplatform.featurestoreDataViewer", "allUsers", "cannot be granted"),
        ("roles/aiplatform.featurestoreDataViewer", "ana@example.com", "cannot be granted"),
    ],
)
def test_feature_view_iam_policy_rules(ctx, v1, parent, role, member, match):
    from google.iam.v1 import iam_policy_pb2, policy_pb2

    registry, group = (
        _group(ctx, v1, parent, "iam_rules")
        if not ctx.local.store.exists(f"{parent}/featureGroups/iam_rules")
        else (None, None)
    )
    if registry:
        registry.create_feature(parent=group.name, feature_id="tenure", feature=v1.Feature()).result()
        admin, store = _store(ctx, v1, parent, "iam_rules_store")
        _view(v1, admin, store, "iam_view", "iam_rules", ["tenure"])
    admin = ctx.client(v1.FeatureOnlineStoreAdminServiceClient)
    view = f"{parent}/featureOnlineStores/iam_rules_store/featureViews/iam_view"
    policy = policy_pb2.Policy(bindings=[policy_pb2.Binding(role=role, members=[member])])
    with pytest.raises(exceptions.BadRequest, match=match):
        admin.set_iam_policy(request=iam_policy_pb2.SetIamPolicyRequest(resource=view, policy=policy))


# -- Model Monitoring v2 -------------------------------------------------------------------
def _monitor(
    ctx,
    parent,
    numeric="jensen_shannon_divergence",
    categorical="l_infinity",
    threshold=0.3,
    features=("tenure", "contract"),
):
    from google.cloud import aiplatform_v1beta1 as b

    at = b.ModelMonitoringAlertCondition
    spec = b.ModelMonitoringObjectiveSpec.DataDriftSpec(
        features=list(features),
        numeric_metric_type=numeric,
        categorical_metric_type=categorical,
        default_numeric_alert_condition=at(threshold=threshold),
        default_categorical_alert_condition=at(threshold=0.3),
    )
    field = b.ModelMonitoringSchema.FieldSchema
    monitor = b.ModelMonitor(
        display_name="m",
        model_monitoring_schema=b.ModelMonitoringSchema(
            feature_fields=[
                field(name="tenure", data_type="float"),
                field(name="contract", data_type="categorical"),
            ]
        ),
        tabular_objective=b.ModelMonitoringObjectiveSpec.TabularObjective(feature_drift_spec=spec),
    )
    client = ctx.client(b.ModelMonitoringServiceClient)
    return b, client, client.create_model_monitor(parent=parent, model_monitor=monitor).result()


def test_model_monitor_and_job(ctx, parent):
    b, client, monitor = _monitor(ctx, parent)
    logs = b.ModelMonitoringInput(
        vertex_endpoint_logs=b.ModelMonitoringInput.VertexEndpointLogs(endpoints=[f"{parent}/endpoints/123"])
    )
    job = b.ModelMonitoringJob(
        display_name="now",
        model_monitoring_spec=b.ModelMonitoringSpec(
            objective_spec=b.ModelMonitoringObjectiveSpec(target_dataset=logs)
        ),
    )
    created = client.create_model_monitoring_job(parent=monitor.name, model_monitoring_job=job)
    assert (
        created.state == b.JobState.JOB_STATE_PENDING
        and "no analysis" in created.job_execution_detail.error.message
    )
    bad = b.ModelMonitoringJob(
        model_monitoring_spec=b.ModelMonitoringSpec(
            objective_spec=b.ModelMonitoringObjectiveSpec(
                target_dataset=b.ModelMonitoringInput(
                    vertex_endpoint_logs=b.ModelMonitoringInput.VertexEndpointLogs(endpoints=["my-endpoint"])
                )
            )
        )
    )
    with pytest.raises(exceptions.BadRequest, match="endpoint resource name"):
        client.create_model_monitoring_job(parent=monitor.name, model_monitoring_job=bad)
    with pytest.raises(exceptions.NotFound):
        client.create_model_monitoring_job(parent=f"{parent}/modelMonitors/404", model_monitoring_job=job)
    client.delete_model_monitor(name=monitor.name).result()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"numeric": "l_infinity"}, "numericMetricType"),
        ({"categorical": "psi"}, "categoricalMetricType"),
        ({"threshold": 1.5}, r"outside \(0, 1\]"),
        ({"features": ("tenure", "age")}, "not in modelMonitoringSchema"),
    ],
)
def test_model_monitor_objective_rules(ctx, parent, kwargs, match):
    with pytest.raises(exceptions.BadRequest, match=match):
        _monitor(ctx, parent, **kwargs)


# -- Model Monitoring v1 -------------------------------------------------------------------
def test_v1_job_needs_an_existing_endpoint(ctx, parent):
    from google.cloud import aiplatform_v1 as v1

    job = v1.ModelDeploymentMonitoringJob(display_name="j", endpoint=f"{parent}/endpoints/404")
    with pytest.raises(exceptions.NotFound):
        ctx.client(v1.JobServiceClient).create_model_deployment_monitoring_job(
            parent=parent, model_deployment_monitoring_job=job
        )


def test_v1_job_rules_on_an_endpoint(ctx, parent):
    from google.cloud import aiplatform_v1 as v1
    from google.protobuf import duration_pb2

    endpoint = f"{parent}/endpoints/777"
    ctx.local.store.put(endpoint, {"displayName": "e", "deployedModels": [{"id": "55"}]})
    jobs = ctx.client(v1.JobServiceClient)

    def job(model="55", hours=24, rate=0.5, threshold=0.3):
        objective = v1.ModelMonitoringObjectiveConfig(
            prediction_drift_detection_config=v1.ModelMonitoringObjectiveConfig.PredictionDriftDetectionConfig(
                drift_thresholds={"tenure": v1.ThresholdConfig(value=threshold)}
            )
        )
        return v1.ModelDeploymentMonitoringJob(
            display_name="j",
            endpoint=endpoint,
            model_deployment_monitoring_objective_configs=[
                v1.ModelDeploymentMonitoringObjectiveConfig(
                    deployed_model_id=model, objective_config=objective
                )
            ],
            model_deployment_monitoring_schedule_config=v1.ModelDeploymentMonitoringScheduleConfig(
                monitor_interval=duration_pb2.Duration(seconds=hours * 3600)
            ),
            logging_sampling_strategy=v1.SamplingStrategy(
                random_sample_config=v1.SamplingStrategy.RandomSampleConfig(sample_rate=rate)
            ),
        )

    created = jobs.create_model_deployment_monitoring_job(
        parent=parent, model_deployment_monitoring_job=job()
    )
    assert created.schedule_state == v1.ModelDeploymentMonitoringJob.MonitoringScheduleState.PENDING
    jobs.pause_model_deployment_monitoring_job(name=created.name)
    assert jobs.get_model_deployment_monitoring_job(name=created.name).state == v1.JobState.JOB_STATE_PAUSED
    jobs.delete_model_deployment_monitoring_job(name=created.name).result()
    for kwargs, error, match in [
        ({"model": "9"}, exceptions.NotFound, "not on"),
        ({"hours": 0}, exceptions.BadRequest, "one hour"),
        ({"rate": 1.5}, exceptions.BadRequest, "sampleRate"),
        ({"threshold": 2}, exceptions.BadRequest, r"outside \(0, 1\]"),
    ]:
        with pytest.raises(error, match=match):
            jobs.create_model_deployment_monitoring_job(
                parent=parent, model_deployment_monitoring_job=job(**kwargs)
            )
    ctx.local.store.delete(endpoint)


# -- Cloud Monitoring alert policies -------------------------------------------------------
def _policy(filter_text, comparison="COMPARISON_GT", period=300, duration=300):
    from google.cloud import monitoring_v3
    from google.protobuf import duration_pb2

    condition = monitoring_v3.AlertPolicy.Condition(
        display_name="p95",
        condition_threshold=monitoring_v3.AlertPolicy.Condition.MetricThreshold(
            filter=filter_text,
            comparison=comparison,
            threshold_value=250,
            duration=duration_pb2.Duration(seconds=duration),
            aggregations=[
                monitoring_v3.Aggregation(
                    alignment_period=duration_pb2.Duration(seconds=period),
                    per_series_aligner=monitoring_v3.Aggregation.Aligner.ALIGN_PERCENTILE_95,
                )
            ],
        ),
    )
    return monitoring_v3.AlertPolicy.to_json(
        monitoring_v3.AlertPolicy(display_name="slow", conditions=[condition])
    )


GOOD_FILTER = (
    'resource.type = "aiplatform.googleapis.com/Endpoint" AND '
    'metric.type = "aiplatform.googleapis.com/prediction/online/prediction_latencies"'
)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, None),
        ({"filter_text": 'metric.type = "x"'}, "resource.type"),
        ({"comparison": "COMPARISON_UNSPECIFIED"}, "comparison is required"),
        ({"period": 30}, "at least 60s"),
        ({"duration": 90}, "whole number of minutes"),
    ],
)
def test_alert_policy_rules(ctx, kwargs, match):
    from google.auth.transport.requests import AuthorizedSession

    session = AuthorizedSession(ctx.credentials)
    url = f"{ctx.client_options('monitoring')['api_endpoint']}/v3/projects/{ctx.project_id}/alertPolicies"
    reply = session.post(
        url,
        data=_policy(**{"filter_text": GOOD_FILTER, **kwargs}),
        headers={"Content-Type": "application/json"},
    )
    if match is None:
        assert reply.status_code == 200, reply.text
        name = reply.json()["name"]
        assert reply.json()["conditions"][0]["name"].startswith(name + "/conditions/")
        assert session.delete(f"{url.rsplit('/v3/', 1)[0]}/v3/{name}").status_code == 200
    else:
        assert reply.status_code == 400 and match in reply.json()["error"]["message"]
