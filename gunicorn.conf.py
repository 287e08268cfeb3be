"""gunicorn settings for the container (docs/deployment.md). Every value can be set from the environment.

Capacity: each worker process (times GUNICORN_THREADS) keeps its own persistent PostgreSQL
connection (CONN_MAX_AGE), so web replicas x WEB_CONCURRENCY x GUNICORN_THREADS, plus the
q-cluster workers, must stay below the server's max_connections.
"""

import os


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# The CPUs this container may run on (cpuset-aware; CPU quotas are not visible here, so
# set WEB_CONCURRENCY explicitly when the container is limited by --cpus).
_cpus = len(os.sched_getaffinity(0))

bind = f"0.0.0.0:{_env_int('PORT', 8000)}"
# The usual 2 x cores + 1, capped so that a large host does not open dozens of DB connections
# per replica: scale out with more containers instead.
workers = _env_int("WEB_CONCURRENCY", min(2 * _cpus + 1, 8))
# More than 1 switches gunicorn to the threaded worker (gthread).
threads = _env_int("GUNICORN_THREADS", 1)
# A request running longer than this gets its worker killed and restarted.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# On SIGTERM (docker stop, rolling update) workers get this long to finish their requests;
# keep the orchestrator's stop timeout above it.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Idle keep-alive seconds (threaded worker only; sync workers close after each response).
# Behind a load balancer that reuses connections, keep it above the balancer's idle timeout.
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)

# Logs to stdout/stderr, where the container runtime collects them.
accesslog = "-"
# The default format logs the query string, where the hotline API takes birth dates
# (/api/v1/bookings/<code>?birth_date=...): log the path only, no personal data.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Worker heartbeat files in RAM: a container's overlay /tmp can stall the heartbeat
# (and it works with a read-only root filesystem).
worker_tmp_dir = "/dev/shm"
# gunicorn >= 25.1 opens a control socket under $HOME; the image's user has no home, and
# containers are scaled by replicas, not at run time.
control_socket_disable = True
