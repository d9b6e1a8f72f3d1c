# syntax=docker/dockerfile:1
# One multi-call binary, /usr/local/bin/nsq (bun build --compile), and its links nsqd, nsqlookupd, nsq_tail,
# to_nsq, nsq_stat, … on a minimal base.
#   docker build -t nsq-ts .
#   docker run -p 4150:4150 -p 4151:4151 -v nsq-data:/data nsq-ts                  # nsqd
#   docker run -p 4160:4160 -p 4161:4161 nsq-ts nsqlookupd                          # nsqlookupd
#   docker run --rm nsq-ts nsq_tail --lookupd-http-address=host:4161 --topic=t      # a tool

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY deno.json mod.ts compile.sh ./
COPY src ./src
RUN ./compile.sh --runtime=bun && mkdir -p /out/data

# distroless/cc has glibc and libstdc++ (what Bun's runtime links against) and nothing else.
FROM gcr.io/distroless/cc-debian12:nonroot
# The directory is copied whole, so the links stay links (one binary in the image, not one per program).
COPY --from=build /src/dist/ /usr/local/bin/
# /data belongs to the non-root user, so a fresh volume mounted there is writable.
COPY --from=build --chown=65532:65532 /out/data /data
USER nonroot
WORKDIR /data
VOLUME ["/data"]
EXPOSE 4150 4151 4152 4160 4161
CMD ["nsqd", "--data-path=/data"]
