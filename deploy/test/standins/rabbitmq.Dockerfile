# Local stand-in for rabbitmq:3.13-management where no registry answers: Debian
# bookworm's rabbitmq-server with the same paths and entrypoint name as the official
# image, so deploy/compose.yaml's mounts, environment and entrypoint work unchanged.
ARG DEBIAN_IMAGE=suite-local/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends rabbitmq-server \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && mkdir -p /etc/rabbitmq/definitions.d \
 && chown rabbitmq:rabbitmq /etc/rabbitmq/definitions.d
COPY rabbitmq-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
# the CLI tools (healthcheck) find the node's cookie here, as in the official image
ENV HOME=/var/lib/rabbitmq
EXPOSE 5672 15672
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["rabbitmq-server"]
