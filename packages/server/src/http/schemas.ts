/** JSON schemas of the contract's bodies (validation, fast serialization and the OpenAPI document). */

import { type TSchema, Type } from '@sinclair/typebox';
import { ERROR_CODES, LIMITS } from '@wxlogin/protocol';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Base64 = (maxLength: number) => Type.String({ minLength: 1, maxLength });

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.Union(ERROR_CODES.map((code) => Type.Literal(code))),
      message: Type.String(),
      wechatErrcode: Type.Optional(Type.Integer()),
    }),
    requestId: Type.String(),
  },
  { $id: 'ErrorResponse', description: 'The error envelope of every failure.' },
);

export const LoginBody = Type.Object(
  {
    code: Type.String({
      minLength: 1,
      maxLength: LIMITS.codeMaxLength,
      description: 'The code from wx.login (single use, ~5 minutes).',
    }),
    appId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'Picks the app when several are configured.' }),
    ),
  },
  { additionalProperties: false },
);

export const RefreshBody = Type.Object(
  { refreshToken: Type.String({ minLength: 1, maxLength: LIMITS.refreshTokenMaxLength }) },
  { additionalProperties: false },
);

export const TokenResponse = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'seconds' }),
  refreshToken: Type.String(),
  refreshExpiresIn: Type.Integer({ description: 'seconds' }),
  user: Type.Object({
    id: Type.String(),
    appId: Type.String(),
    openid: Type.String(),
    unionid: Nullable(Type.String()),
    created: Type.Boolean(),
  }),
});

export const SessionResponse = Type.Object({
  sessionId: Type.String(),
  userId: Type.String(),
  appId: Type.String(),
  issuedAt: Type.Integer({ description: 'Unix seconds' }),
  expiresAt: Type.Integer({ description: 'Unix seconds' }),
  sessionKeyValid: Nullable(Type.Boolean()),
});

export const SessionQuery = Type.Object({ check: Type.Optional(Type.Literal('wechat')) });

export const ProfileResponse = Type.Object({
  id: Type.String(),
  appId: Type.String(),
  openid: Type.String(),
  unionid: Nullable(Type.String()),
  nickname: Nullable(Type.String()),
  avatarUrl: Nullable(Type.String()),
  phoneNumber: Nullable(Type.String()),
  countryCode: Nullable(Type.String()),
  createdAt: Type.Integer({ description: 'Unix seconds' }),
  updatedAt: Type.Integer({ description: 'Unix seconds' }),
});

export const ProfileUpdateBody = Type.Object(
  {
    nickname: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.nicknameMaxLength })),
    avatarUrl: Type.Optional(
      Type.String({ minLength: 1, maxLength: LIMITS.avatarUrlMaxLength, pattern: '^(https?|wxfile)://' }),
    ),
  },
  { additionalProperties: false },
);

export const UserInfoBody = Type.Object(
  {
    rawData: Type.String({ minLength: 2, maxLength: LIMITS.rawDataMaxLength }),
    signature: Type.String({ minLength: 1, maxLength: LIMITS.signatureMaxLength }),
    encryptedData: Type.Optional(Base64(LIMITS.encryptedDataMaxLength)),
    iv: Type.Optional(Base64(LIMITS.ivMaxLength)),
  },
  { additionalProperties: false },
);

export const EncryptedBody = Type.Object(
  { encryptedData: Base64(LIMITS.encryptedDataMaxLength), iv: Base64(LIMITS.ivMaxLength) },
  { additionalProperties: false },
);

/** Either `{ code }` (current phone button) or `{ encryptedData, iv }` (older clients); the handler checks which. */
export const PhoneBody = Type.Object(
  {
    code: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.codeMaxLength })),
    encryptedData: Type.Optional(Base64(LIMITS.encryptedDataMaxLength)),
    iv: Type.Optional(Base64(LIMITS.ivMaxLength)),
  },
  { additionalProperties: false },
);

export const PhoneResponse = Type.Object({
  phoneNumber: Type.String(),
  purePhoneNumber: Type.String(),
  countryCode: Type.String(),
});

export const DecryptResponse = Type.Object({ data: Type.Unknown() });

export const errorResponses = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  429: { $ref: 'ErrorResponse#' },
  502: { $ref: 'ErrorResponse#' },
  503: { $ref: 'ErrorResponse#' },
} as const;
