"""A local Google Cloud stand-in: the labs' cloud cells run offline through the real SDKs.

With ``RUN_ON_GCP = False``, ``ctx.cloud()`` starts it (once per kernel) and points
google-cloud-aiplatform, -storage and the other SDKs at ``127.0.0.1``; with
``RUN_ON_GCP = True`` the same cells reach Google Cloud. ``ds500 local-cloud`` runs
it in a terminal.

Where things are:

- the server and its plumbing: ``server`` (start, stop, leftovers), ``routing``
  (Google's REST resource conventions), ``store`` (resources, operations),
  ``errors`` (Google's error body), ``requestlog`` and ``display`` (what the
  notebook shows under a cell), ``validation`` (rules with their documentation
  links), ``pricing`` and ``prices.yaml`` (list prices beside a request);
- Cloud Storage: ``storage`` (the maintained gcp-storage-emulator package);
- one module per service, each with a ``register(router)`` function that declares
  its collections: the server finds them by themselves.
"""

from ds500.localcloud.server import LocalCloud, running, stop_running

__all__ = ["LocalCloud", "running", "stop_running"]
