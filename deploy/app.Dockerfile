# The worker-host image for your own application: your processors with your code and dependencies.
# The build context is your app's folder (package.json, package-lock.json with
# @watchtower/worker-host among its dependencies, watchtower.config.ts); copy this file there, or
# point -f at it:
#
#   docker build -f deploy/app.Dockerfile -t my-app-watchtower /path/to/your/app
#   docker run --rm -e DATABASE_URL=... -e REDIS_URL=... -v watchtower-state:/app/state \
#     --stop-timeout 60 my-app-watchtower
#
# Keep node_modules and state out of the build context (.dockerignore: `node_modules`, `state`):
# dependencies are installed inside the image, for its platform.
FROM node:20-slim

WORKDIR /app
ENV NODE_ENV=production

# Dependencies first, so a change to your code does not install them again.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev

COPY . .

# Your configuration, TypeScript included: tsx comes with the package, no build step.
# The host's state lives in /app/state: the recorder's spool holds job records while Postgres is
# away, to be replayed once it answers. A volume, so that a replaced container replays what the old
# one could not write; the host refuses a directory that others can write (mount one owned by the
# node user, uid 1000, mode 0700).
ENV WATCHTOWER_CONFIG=/app/watchtower.config.ts WATCHTOWER_STATE_DIR=/app/state
# The host compiles TypeScript processors at start into node_modules/.cache/watchtower (written by
# the node user; elsewhere in the image nothing is).
RUN mkdir -p /app/state node_modules/.cache/watchtower && chown node:node /app/state node_modules/.cache/watchtower && chmod 700 /app/state
VOLUME /app/state
USER node

# The bin itself, not `npx watchtower`: npx as PID 1 does not pass SIGTERM on, so `docker stop`
# would end the host by SIGKILL at its timeout instead of the graceful terminate (current jobs get
# host.gracePeriod, 30 s by default, then up to 10 s each for the last kill and the recorder's final
# flush: give docker stop 60 s, --stop-timeout 60). The supervisor handles SIGTERM and reaps its own
# worker processes, so it can run as PID 1.
STOPSIGNAL SIGTERM
# `watchtower status --local` reads the health file the host writes in its state directory once a
# second (no Postgres needed): non-zero when the host is gone, stuck, or its workers crash-loop.
HEALTHCHECK CMD ["npx", "watchtower", "status", "--local"]
CMD ["node_modules/.bin/watchtower", "supervisor"]
