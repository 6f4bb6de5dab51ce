export type { AppCredentials, Config, ResolveConfigInput } from './config/config.js';
export { ConfigError, DEFAULTS, ENV_KEYS, resolveConfig } from './config/config.js';
export { ApiError } from './errors.js';
export { type AppDeps, buildApp, createLogger, REDACTED_PATHS } from './http/app.js';
export { type WxloginPluginOptions, wxlogin } from './http/plugin.js';
export { createRuntime, defaultWechatClient, type Runtime, type RuntimeDeps } from './runtime.js';
export { createRedisState, createSharedState, type RedisStateOptions, type SharedStateHandle } from './state/index.js';
export { createMemoryState } from './state/memory.js';
export type { CodeClaim, CodeOutcome, SharedState } from './state/types.js';
export { openStore } from './store/index.js';
export type { Store } from './store/types.js';
export {
  AccessTokenError,
  type AccessTokenVerifier,
  type AccessTokenVerifierOptions,
  createAccessTokenVerifier,
  type VerifiedAccessToken,
  verifyAccessToken,
} from './verify.js';
