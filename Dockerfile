# Placeholder until the "Ship it" issue: builds the binaries with Bun and runs nsqd.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN ./compile.sh

FROM debian:bookworm-slim
COPY --from=build /src/dist/ /usr/local/bin/
USER 65534:65534
VOLUME /data
EXPOSE 4150 4151 4152 4160 4161
ENTRYPOINT ["/usr/local/bin/nsqd"]
CMD ["--data-path=/data"]
