/**
 * Request and response bodies of the wxlogin HTTP contract, v1 (shared/API.md).
 * Times are seconds unless a name says otherwise.
 */

/** `POST /v1/auth/login` body. */
export interface LoginRequest {
  /** The one-time code from `wx.login` (valid about 5 minutes, single use). */
  code: string;
  /** Picks the app when the service serves several mini programs. */
  appId?: string;
}

/** `POST /v1/auth/refresh` body. */
export interface RefreshRequest {
  /** A refresh token; it is spent by this call, and presenting it again revokes the session. */
  refreshToken: string;
}

/** The user summary that comes with a token pair. */
export interface LoginUser {
  id: string;
  appId: string;
  openid: string;
  unionid: string | null;
  /** True only on the user's first login. */
  created: boolean;
}

/** `200` of login and refresh. */
export interface TokenResponse {
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  expiresIn: number;
  refreshToken: string;
  /** Seconds until the refresh token expires. */
  refreshExpiresIn: number;
  user: LoginUser;
}

/** `GET /v1/auth/session` answer. */
export interface SessionInfo {
  sessionId: string;
  userId: string;
  appId: string;
  /** Unix seconds. */
  issuedAt: number;
  /** Unix seconds: when the session's refresh token runs out. */
  expiresAt: number;
  /** WeChat's own verdict on the stored session key with `?check=wechat`, else null. */
  sessionKeyValid: boolean | null;
}

/** `GET /v1/me` answer: the user's profile; unknown fields are null. */
export interface Profile {
  id: string;
  appId: string;
  openid: string;
  unionid: string | null;
  nickname: string | null;
  avatarUrl: string | null;
  phoneNumber: string | null;
  countryCode: string | null;
  /** Unix seconds. */
  createdAt: number;
  /** Unix seconds. */
  updatedAt: number;
}

/** `PATCH /v1/me` body: what the avatar/nickname fill-in components give. */
export interface ProfileUpdate {
  nickname?: string;
  avatarUrl?: string;
}

/** `POST /v1/me/userinfo` body, from `wx.getUserProfile` / `wx.getUserInfo`. */
export interface UserInfoRequest {
  rawData: string;
  signature: string;
  encryptedData?: string;
  iv?: string;
}

/** `POST /v1/me/phone` body: the phone button's code (current API) or its encrypted form (old clients). */
export type PhoneRequest = { code: string } | { encryptedData: string; iv: string };

/** `POST /v1/me/phone` answer. */
export interface PhoneResponse {
  phoneNumber: string;
  purePhoneNumber: string;
  countryCode: string;
}

/** `POST /v1/auth/decrypt` body. */
export interface DecryptRequest {
  encryptedData: string;
  iv: string;
}

/** `POST /v1/auth/decrypt` answer. */
export interface DecryptResponse<T = unknown> {
  data: T;
}
