/** Field limits of the contract; the server enforces them and the SDK may check early. */
export const LIMITS = {
  /** Longest `wx.login` / phone code accepted, in characters. */
  codeMaxLength: 128,
  /** Longest refresh token accepted, in characters. */
  refreshTokenMaxLength: 256,
  /** Longest `rawData`, in characters. */
  rawDataMaxLength: 8192,
  /** Longest `encryptedData`, in characters. */
  encryptedDataMaxLength: 32768,
  /** Longest `iv`, in characters (a valid one is 24). */
  ivMaxLength: 64,
  /** Longest `signature`, in characters (a valid one is 40). */
  signatureMaxLength: 128,
  /** Longest nickname, in characters. */
  nicknameMaxLength: 64,
  /** Longest avatar URL, in characters. */
  avatarUrlMaxLength: 2048,
  /** Default body limit, in bytes. */
  bodyLimitBytes: 64 * 1024,
} as const;
