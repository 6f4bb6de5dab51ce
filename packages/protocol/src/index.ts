export type { ErrorBody, ErrorCode } from './errors.js';
export { ERROR_CODES, ERROR_STATUS, isErrorBody, isErrorCode, statusOf } from './errors.js';
export { LIMITS } from './limits.js';
export type {
  DecryptRequest,
  DecryptResponse,
  LoginRequest,
  LoginUser,
  PhoneRequest,
  PhoneResponse,
  Profile,
  ProfileUpdate,
  RefreshRequest,
  SessionInfo,
  TokenResponse,
  UserInfoRequest,
} from './messages.js';
