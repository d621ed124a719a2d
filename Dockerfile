# Build: docker build -t little-loadbalancer .
# The daemon needs CAP_NET_ADMIN (and host networking) once it manages addresses on a link device.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props LoadBalancer.sln .editorconfig ./
COPY src/ src/
RUN dotnet publish src/Host/LoadBalancer.Host.csproj -c Release -o /app --no-self-contained

FROM mcr.microsoft.com/dotnet/runtime:10.0
WORKDIR /app
COPY --from=build /app ./
USER root
ENTRYPOINT ["dotnet", "/app/loadbalancer.dll"]
CMD ["--help"]
