export type {
  ErrorCode,
  LoginUser,
  PhoneResponse,
  Profile,
  ProfileUpdate,
} from '@wxlogin/protocol';
export type {
  AuthClient,
  AuthEvents,
  AuthOptions,
  AuthRequestOptions,
  AuthResponse,
  EncryptedData,
  LoginEvent,
  LogoutEvent,
  OpenDataOptions,
  OpenDataSource,
  PhoneDetail,
  RetryOptions,
  UserInfoData,
} from './auth.js';
export { createAuth } from './auth.js';
export type { ClientErrorCode, WxloginErrorCode, WxloginErrorDetails } from './errors.js';
export { isWxloginError, WxloginError } from './errors.js';
export type { WxFail, WxLike, WxMethod, WxRequestOption, WxResponse } from './wx.js';
