export type { WechatClient, WechatClientOptions } from './client.js';
export { createWechatClient } from './client.js';
export { decryptOpenData, encryptOpenData, hmacSessionSignature, verifySignature } from './crypto.js';
export type { Code2SessionResult } from './endpoints/code2session.js';
export type { PhoneInfo } from './endpoints/phone-number.js';
export type { OpenDataErrorReason, WechatEndpoint, WechatErrorCode } from './errors.js';
export { OpenDataError, WechatError } from './errors.js';
export type { CachedAccessToken, TokenCache } from './token-cache.js';
export { MemoryTokenCache } from './token-cache.js';
