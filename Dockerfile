# Little Load Balancer in a container image: build with `docker build -t little-loadbalancer .` (there is no container
# engine on the machine this project is built on, so this file is kept conventional and is not built by CI).
#
# Stage 1 publishes the daemon as a framework-dependent app with its native launcher (/app/loadbalancer), and beside it
# the native forwarder (/app/loadbalancer-forward, compiled ahead of time; `loadbalancer forward` becomes it:
# docs/adr/0011-memory-footprint.md). Native AOT links with the system's C toolchain, which the SDK image lacks.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends clang zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props LoadBalancer.sln .editorconfig ./
COPY src/ src/
RUN dotnet restore src/Host/LoadBalancer.Host.csproj
RUN dotnet publish src/Host/LoadBalancer.Host.csproj -c Release -o /app --no-restore --no-self-contained

# Stage 2 runs it as a non-root user. The launcher carries file capabilities, so that the unprivileged process can
# put addresses on the link (CAP_NET_ADMIN), announce them (CAP_NET_RAW) and listen below port 1024
# (CAP_NET_BIND_SERVICE). The pod must allow them: securityContext.capabilities.add [NET_ADMIN, NET_RAW] and
# allowPrivilegeEscalation left true (no_new_privs would ignore file capabilities); deploy/little-load-balancer.yaml
# does both.
FROM mcr.microsoft.com/dotnet/runtime:10.0
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcap2-bin \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app ./
RUN setcap cap_net_admin,cap_net_raw,cap_net_bind_service+ep /app/loadbalancer \
    && setcap cap_net_bind_service+ep /app/loadbalancer-forward \
    && apt-get purge -y libcap2-bin && apt-get autoremove -y
# The .NET images' unprivileged user (UID 1654).
USER $APP_UID
ENTRYPOINT ["/app/loadbalancer"]
CMD ["--help"]
