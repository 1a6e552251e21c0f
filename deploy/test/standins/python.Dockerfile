# Local stand-in for python:3.11.14-slim-bookworm where no registry answers: Debian
# bookworm's own Python 3.11 on a debootstrap base (tools/compose_test.py builds both).
# `python` is on PATH as in the official image; the host's CA bundle (host-ca.crt in
# the build context) lets pip reach the package index as the host does.
ARG DEBIAN_IMAGE=suite-local/debian:bookworm
FROM ${DEBIAN_IMAGE}
COPY host-ca.crt /usr/local/share/ca-certificates/host-ca.crt
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && cat /usr/local/share/ca-certificates/host-ca.crt >> /etc/ssl/certs/ca-certificates.crt \
 && ln -s /usr/bin/python3 /usr/local/bin/python \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
