import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decryptOpenData,
  encryptOpenData,
  encryptWithIv,
  newSessionKey,
  pooledRandomBytes,
  rawDataSignature,
  sessionSignature,
  signatureMatches,
} from './crypto.js';

// shared/wechat-api.md §9.1 (official aes-sample demo)
const V91 = {
  sessionKey: 'tiihtNczf5v6AKRyjwEUhQ==',
  iv: 'r7BXXKkLb8qrSNn05n0qiA==',
  encryptedData: [
    'CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVb',
    'JSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COx',
    'Fvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4',
    'ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwT',
    'yrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5',
    'oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew==',
  ].join(''),
  plaintext:
    '{"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0","unionId":"ocMvos6NjeKLIBqg5Mr9QjxrP1FA","watermark":{"timestamp":1477314187,"appid":"wx4f4bc4dec97d474b"}}',
  plaintextSha256: '3237d8a5dbd413523c194882c7156544d8a06e2afcc97383cc300c17bd09391b',
};

// §9.5 (self-generated vector for fakes)
const V95 = {
  sessionKey: 'ABEiM0RVZneImaq7zN3u/w==',
  iv: 'Dw4NDAsKCQgHBgUEAwIBAA==',
  plaintext:
    '{"phoneNumber":"13800138000","purePhoneNumber":"13800138000","countryCode":"86","watermark":{"timestamp":1700000000,"appid":"wx0123456789abcdef"}}',
  encryptedData:
    '1V8KOhSP88/xtQLb10/d2OQhfBRheXJYFsH9bZLUgP8QTmylLk1CPMvArlJSuQbglKJhYXIIfNDVfSV76V8ZTnIoKHUVdQSIe7my1SeVPODMzdPkdS27x/3u/PjUYdlnku2j8CBrf0ATQ52VXI2/Y0/MMpPqpQKj0KADZC4JDVkzeEERLecuwddMqWKLmWn/tlN0fDmtFml1ywuaBWBd4g==',
  anonymousRawData:
    '{"nickName":"微信用户","gender":0,"language":"","city":"","province":"","country":"","avatarUrl":"https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132"}',
  anonymousSignature: '89494929a26d92645ab59d0a29ef71953f30c58b',
};

// §9.3 (official signature doc)
const V93 = {
  rawData:
    '{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}',
  sessionKey: 'HyVFkGl5F5OQWJZZaNzBBg==',
  signature: '75e81ceda165f4ffa64f4068af58c64b8f54b88c',
};

// §3 empty-string table
const EMPTY_HMACS: ReadonlyArray<readonly [string, string]> = [
  ['tiihtNczf5v6AKRyjwEUhQ==', '7154f9f8b4b76b92f541cbf0e37d48840fa06e5e42da92a6f80168a1516a4735'],
  ['HyVFkGl5F5OQWJZZaNzBBg==', '252b75c92698025afe925b29cca5517fdf9ee67aae072cf3225ebf3a53783058'],
  ['o0q0otL8aEzpcZL/FT9WsQ==', '46e043c5525c2d817c44be603d30837a808a1d930d038f6fdc3e62a201fed128'],
  ['ABEiM0RVZneImaq7zN3u/w==', 'cb4ddd2bfeb25111be82a9e5d42e49c7da1f2ecb281cb3f8c188dbb12d9c0798'],
];

const bytes = (size: number): Uint8Array => new Uint8Array(size).map((_, i) => (i * 37 + 11) & 0xff);

describe('official vectors', () => {
  it('decrypts the §9.1 official sample to the exact plaintext', () => {
    const plain = decryptOpenData(V91.sessionKey, V91.encryptedData, V91.iv);
    expect(plain).toBe(V91.plaintext);
    expect(createHash('sha256').update(plain, 'utf8').digest('hex')).toBe(V91.plaintextSha256);
    expect(JSON.parse(plain)).toMatchObject({
      openId: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE',
      unionId: 'ocMvos6NjeKLIBqg5Mr9QjxrP1FA',
      watermark: { timestamp: 1477314187, appid: 'wx4f4bc4dec97d474b' },
    });
  });

  it('decrypts the §9.5 vector and encrypts it back to the same bytes', () => {
    expect(decryptOpenData(V95.sessionKey, V95.encryptedData, V95.iv)).toBe(V95.plaintext);
    expect(encryptWithIv(V95.sessionKey, V95.plaintext, V95.iv)).toBe(V95.encryptedData);
  });

  it('re-encrypts the §9.1 plaintext to the official ciphertext', () => {
    expect(encryptWithIv(V91.sessionKey, V91.plaintext, V91.iv)).toBe(V91.encryptedData);
  });

  it('signs rawData like §9.3 and the anonymous rawData like §9.5', () => {
    expect(rawDataSignature(V93.rawData, V93.sessionKey)).toBe(V93.signature);
    expect(rawDataSignature(V95.anonymousRawData, V95.sessionKey)).toBe(V95.anonymousSignature);
  });

  it('computes the official HMAC of §9.4 with the session key as text', () => {
    expect(sessionSignature('o0q0otL8aEzpcZL/FT9WsQ==', '{"foo":"bar"}')).toBe(
      '654571f79995b2ce1e149e53c0a33dc39c0a74090db514261454e8dbe432aa0b',
    );
  });

  it.each(EMPTY_HMACS)('computes the §3 empty-string signature for %s', (key, expected) => {
    expect(sessionSignature(key)).toBe(expected);
    expect(sessionSignature(key, '')).toBe(expected);
  });
});

describe('encryption', () => {
  it('round-trips any text under any key and iv', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.string({ unit: 'grapheme' }), (key, text) => {
        const sessionKey = Buffer.from(key).toString('base64');
        const { encryptedData, iv } = encryptOpenData(sessionKey, text, (size) => new Uint8Array(size).fill(7));
        expect(Buffer.from(iv, 'base64')).toHaveLength(16);
        expect(Buffer.from(encryptedData, 'base64').length % 16).toBe(0);
        expect(decryptOpenData(sessionKey, encryptedData, iv)).toBe(text);
      }),
    );
  });

  it('uses the random source for the iv', () => {
    const { iv } = encryptOpenData(V95.sessionKey, 'x', bytes);
    expect(Buffer.from(iv, 'base64')).toEqual(Buffer.from(bytes(16)));
  });

  it('never yields the plaintext when one ciphertext byte is flipped', () => {
    fc.assert(
      fc.property(fc.nat({ max: 143 }), fc.integer({ min: 1, max: 255 }), (index, mask) => {
        const data = Buffer.from(V95.encryptedData, 'base64');
        data[index] = (data[index] ?? 0) ^ mask;
        let plain: string | null = null;
        try {
          plain = decryptOpenData(V95.sessionKey, data.toString('base64'), V95.iv);
        } catch {
          plain = null;
        }
        expect(plain).not.toBe(V95.plaintext);
      }),
    );
  });

  it('fails with the wrong key', () => {
    expect(() => decryptOpenData(EMPTY_HMACS[0]?.[0] ?? '', V95.encryptedData, V95.iv)).toThrow();
  });

  it('rejects keys and ivs that are not 16 bytes', () => {
    expect(() => decryptOpenData('c2hvcnQ=', V95.encryptedData, V95.iv)).toThrow(TypeError);
    expect(() => decryptOpenData(V95.sessionKey, V95.encryptedData, 'c2hvcnQ=')).toThrow(TypeError);
    expect(() => encryptWithIv(V95.sessionKey, 'x', '')).toThrow(TypeError);
  });
});

describe('session keys and signatures', () => {
  it('makes 24-character base64 keys of 16 bytes', () => {
    const key = newSessionKey(bytes);
    expect(key).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(Buffer.from(key, 'base64')).toEqual(Buffer.from(bytes(16)));
  });

  it('compares signatures exactly', () => {
    const sig = sessionSignature(V95.sessionKey);
    expect(signatureMatches(sig, sig)).toBe(true);
    expect(signatureMatches(sig, sig.toUpperCase())).toBe(false);
    expect(signatureMatches(sig, sig.slice(1))).toBe(false);
    expect(signatureMatches(sig, '')).toBe(false);
  });
});

describe('pooledRandomBytes', () => {
  it('hands out slices of the asked size that never change once handed out, and never the same bytes twice', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 80 }), { minLength: 1, maxLength: 200 }), (sizes) => {
        const random = pooledRandomBytes(64);
        const handed = sizes.map((size) => random(size));
        const copies = handed.map((bytes) => Buffer.from(bytes));
        for (let i = 0; i < 50; i++) random(16);
        handed.forEach((bytes, i) => {
          expect(bytes.length).toBe(sizes[i]);
          expect(Buffer.from(bytes)).toEqual(copies[i]);
        });
        const keys = handed.filter((bytes) => bytes.length >= 16).map((bytes) => Buffer.from(bytes).toString('hex'));
        expect(new Set(keys).size).toBe(keys.length);
      }),
      { numRuns: 50 },
    );
  });

  it('session keys drawn from the default pool are all different', () => {
    const random = pooledRandomBytes();
    const keys = Array.from({ length: 2000 }, () => newSessionKey(random));
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of keys) expect(Buffer.from(key, 'base64')).toHaveLength(16);
  });
});
