/**
 * Whether this code runs from the installed package's bundle (`dist/`, made by
 * scripts/build-worker-host.ts) or from the sources in this repository. The package build defines
 * WATCHTOWER_PACKAGE_VERSION (esbuild `define`); in the sources, and in the worker entry the
 * supervisor compiles from them, it is not defined at all, hence `typeof`.
 */
declare const WATCHTOWER_PACKAGE_VERSION: string | undefined;

export const PACKAGE_VERSION: string | undefined =
  typeof WATCHTOWER_PACKAGE_VERSION === 'string' ? WATCHTOWER_PACKAGE_VERSION : undefined;

/** True in the package's bundle: no sources beside it, and nothing may be written into node_modules. */
export const PACKAGED = PACKAGE_VERSION !== undefined;
