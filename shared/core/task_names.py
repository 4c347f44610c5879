"""Names of the Celery tasks and queues: the api sends by name and never imports the worker."""

RUN_JOB = "worker.run_job"
UPDATE_UPSTREAM_CONVERSATION = "worker.update_upstream_conversation"
DELETE_UPSTREAM_CONVERSATION = "worker.delete_upstream_conversation"
DELETE_UPSTREAM_FILE = "worker.delete_upstream_file"
EXPIRE_CONVERSATIONS = "worker.expire_idle_conversations"
RECONCILE_JOBS = "worker.reconcile_jobs"
PURGE_OLD_DATA = "worker.purge_old_data"
DELIVER_WEBHOOK = "worker.deliver_webhook"
SEND_DUE_WEBHOOKS = "worker.send_due_webhooks"

JOBS_QUEUE = "jobs"
MAINTENANCE_QUEUE = "maintenance"
# Deliveries wait on their receivers: a slow one never holds up a job or a sweep.
WEBHOOKS_QUEUE = "webhooks"
