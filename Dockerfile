# updraft on the stock Airflow image. Two targets:
#   updraft  (default) api-server, scheduler, dag-processor, triggerer, init, the `default`
#            and `sign` workers: Airflow + rpm, createrepo_c, GnuPG, the ISO tools, updraft
#   builder  a `build-<arch>` worker with mock (Fedora: Debian has no mock), for
#            distributions whose config says `build: {backend: mock}`
#
#   docker compose build            # both, as docker-compose.yaml uses them
#
# The Python tag matches the python3-rpm Debian builds for the image's release (bookworm:
# 3.11): the `rpm` package from PyPI loads those system bindings.
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11

FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION} AS updraft
USER root
# The install -d lines: mount points of the named volumes (tree, secrets) owned by the
# airflow user, since a new named volume takes its owner from the image's directory.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      rpm python3-rpm createrepo-c gnupg xorriso isomd5sum jigdo-file cpio \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && install -d -o airflow -g root -m 0775 /srv/updraft/tree \
 && install -d -o airflow -g root -m 0700 /opt/airflow/secrets
USER airflow
# Requirements first: a code change does not reinstall them. apache-airflow is pinned
# in requirements.txt to the image's own version, so pip never swaps Airflow out.
COPY --chown=airflow:root requirements.txt /opt/updraft/requirements.txt
RUN pip install --no-cache-dir -r /opt/updraft/requirements.txt
COPY --chown=airflow:root pyproject.toml README.md /opt/updraft/
COPY --chown=airflow:root include /opt/updraft/include
COPY --chown=airflow:root plugins /opt/updraft/plugins
COPY --chown=airflow:root dags /opt/updraft/dags
COPY --chown=airflow:root config /opt/updraft/config
COPY --chown=airflow:root scripts/compose-init.sh /opt/updraft/scripts/compose-init.sh
RUN pip install --no-cache-dir --no-deps /opt/updraft
ENV UPDRAFT_CONFIG=/opt/updraft/config/sme.yaml \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/updraft/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/updraft/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

# A builder host: mock builds in a chroot per release and arch (`mock -r
# smeserver-9-x86_64`), so the container needs --privileged (compose sets it) and the
# mock configs under /etc/mock. Airflow runs from a venv in Fedora's Python.
FROM registry.fedoraproject.org/fedora:41 AS builder
ARG AIRFLOW_VERSION
RUN dnf install -y --setopt=install_weak_deps=False \
      mock rpm-build python3-rpm createrepo_c gnupg2 cpio python3-pip \
 && dnf clean all \
 && useradd --uid 50000 --gid 0 --groups mock --home-dir /opt/airflow --create-home airflow \
 && install -d -o airflow -g root -m 0775 /srv/updraft/tree
USER airflow
ENV VIRTUAL_ENV=/opt/airflow/venv PATH=/opt/airflow/venv/bin:$PATH AIRFLOW_HOME=/opt/airflow
RUN python3 -m venv --system-site-packages "$VIRTUAL_ENV"
COPY --chown=airflow:root requirements.txt /opt/updraft/requirements.txt
RUN pip install --no-cache-dir -r /opt/updraft/requirements.txt
COPY --chown=airflow:root pyproject.toml README.md /opt/updraft/
COPY --chown=airflow:root include /opt/updraft/include
COPY --chown=airflow:root plugins /opt/updraft/plugins
COPY --chown=airflow:root dags /opt/updraft/dags
COPY --chown=airflow:root config /opt/updraft/config
RUN pip install --no-cache-dir --no-deps /opt/updraft
ENV UPDRAFT_CONFIG=/opt/updraft/config/sme.yaml \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/updraft/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/updraft/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False
ENTRYPOINT ["airflow"]

# The default target: the Airflow services.
FROM updraft
