import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeStrictBase64,
  decryptOpenData,
  encryptOpenData,
  hmacSessionSignature,
  verifySignature,
} from './crypto.js';
import { OpenDataError, type OpenDataErrorReason } from './errors.js';

// shared/wechat-api.md §9.1 (official aes-sample)
const OFFICIAL = {
  appId: 'wx4f4bc4dec97d474b',
  sessionKey: 'tiihtNczf5v6AKRyjwEUhQ==',
  iv: 'r7BXXKkLb8qrSNn05n0qiA==',
  encryptedData:
    'CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew==',
  plaintext:
    '{"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0","unionId":"ocMvos6NjeKLIBqg5Mr9QjxrP1FA","watermark":{"timestamp":1477314187,"appid":"wx4f4bc4dec97d474b"}}',
  plaintextSha256: '3237d8a5dbd413523c194882c7156544d8a06e2afcc97383cc300c17bd09391b',
};

// §9.3 (official signature doc)
const SIGNED = {
  rawData:
    '{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}',
  sessionKey: 'HyVFkGl5F5OQWJZZaNzBBg==',
  signature: '75e81ceda165f4ffa64f4068af58c64b8f54b88c',
};

// §9.5 (self-made vector for fakes)
const SELF_MADE = {
  appId: 'wx0123456789abcdef',
  sessionKey: 'ABEiM0RVZneImaq7zN3u/w==',
  iv: 'Dw4NDAsKCQgHBgUEAwIBAA==',
  plaintext:
    '{"phoneNumber":"13800138000","purePhoneNumber":"13800138000","countryCode":"86","watermark":{"timestamp":1700000000,"appid":"wx0123456789abcdef"}}',
  encryptedData:
    '1V8KOhSP88/xtQLb10/d2OQhfBRheXJYFsH9bZLUgP8QTmylLk1CPMvArlJSuQbglKJhYXIIfNDVfSV76V8ZTnIoKHUVdQSIe7my1SeVPODMzdPkdS27x/3u/PjUYdlnku2j8CBrf0ATQ52VXI2/Y0/MMpPqpQKj0KADZC4JDVkzeEERLecuwddMqWKLmWn/tlN0fDmtFml1ywuaBWBd4g==',
  hmacEmpty: 'cb4ddd2bfeb25111be82a9e5d42e49c7da1f2ecb281cb3f8c188dbb12d9c0798',
  anonymousRawData:
    '{"nickName":"微信用户","gender":0,"language":"","city":"","province":"","country":"","avatarUrl":"https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132"}',
  anonymousSignature: '89494929a26d92645ab59d0a29ef71953f30c58b',
};

/** Runs `fn` and returns the OpenDataError reason; fails the test when nothing (or something else) is thrown. */
function reasonOf(fn: () => unknown): OpenDataErrorReason {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OpenDataError);
    return (error as OpenDataError).reason;
  }
  throw new Error('expected an OpenDataError, but nothing was thrown');
}

describe('decryptOpenData: official vectors', () => {
  it('decrypts the §9.1 aes-sample to the exact plaintext', () => {
    const data = decryptOpenData(OFFICIAL);
    expect(JSON.stringify(data)).toBe(OFFICIAL.plaintext);
    expect(createHash('sha256').update(JSON.stringify(data)).digest('hex')).toBe(OFFICIAL.plaintextSha256);
    expect(data).toMatchObject({
      openId: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE',
      nickName: 'Band',
      gender: 1,
      city: 'Guangzhou',
      unionId: 'ocMvos6NjeKLIBqg5Mr9QjxrP1FA',
      watermark: { timestamp: 1477314187, appid: 'wx4f4bc4dec97d474b' },
    });
  });

  it('decrypts the §9.5 self-made vector, and encrypting its plaintext reproduces it', () => {
    const data = decryptOpenData<{ phoneNumber: string; countryCode: string }>(SELF_MADE);
    expect(data.phoneNumber).toBe('13800138000');
    expect(data.countryCode).toBe('86');
    expect(data.watermark).toEqual({ timestamp: 1700000000, appid: 'wx0123456789abcdef' });
    const again = encryptOpenData({
      data: JSON.parse(SELF_MADE.plaintext),
      sessionKey: SELF_MADE.sessionKey,
      iv: SELF_MADE.iv,
    });
    expect(again).toEqual({ encryptedData: SELF_MADE.encryptedData, iv: SELF_MADE.iv });
  });

  it('rejects the official vector for another appid', () => {
    expect(reasonOf(() => decryptOpenData({ ...OFFICIAL, appId: 'wx0123456789abcdef' }))).toBe('watermark_mismatch');
  });

  it('repairs a +→space corrupted encryptedData', () => {
    const corrupted = OFFICIAL.encryptedData.replace(/\+/g, ' ');
    expect(corrupted).not.toBe(OFFICIAL.encryptedData);
    expect(decryptOpenData({ ...OFFICIAL, encryptedData: corrupted }).nickName).toBe('Band');
  });
});

describe('decryptOpenData: failure reasons', () => {
  const cases: Array<[string, Partial<typeof OFFICIAL>, OpenDataErrorReason]> = [
    ['key of 15 bytes', { sessionKey: 'tiihtNczf5v6AKRyjwEU' }, 'bad_key'],
    ['key not base64', { sessionKey: 'tiihtNczf5v6AKRyjwEUhQ=!' }, 'bad_key'],
    ['key with bad padding', { sessionKey: 'tiihtNczf5v6AKRyjwEUhQ=' }, 'bad_key'],
    ['key with non-zero trailing bits', { sessionKey: 'tiihtNczf5v6AKRyjwEUhR==' }, 'bad_key'],
    ['empty key', { sessionKey: '' }, 'bad_key'],
    ['iv of 12 bytes', { iv: 'r7BXXKkLb8qrSNn0' }, 'bad_iv'],
    ['iv with a dash', { iv: 'r7BXXKkLb8qrSNn05n0qi-==' }, 'bad_iv'],
    ['ciphertext not base64', { encryptedData: 'CiyL@U1Aw' }, 'bad_base64'],
    ['empty ciphertext', { encryptedData: '' }, 'bad_base64'],
    ['ciphertext not a multiple of 16', { encryptedData: 'AAAAAAAAAAAAAAAAAAAA' }, 'bad_base64'],
    ['wrong key', { sessionKey: 'HyVFkGl5F5OQWJZZaNzBBg==' }, 'bad_padding'],
  ];
  it.each(cases)('%s', (_name, override, reason) => {
    expect(reasonOf(() => decryptOpenData({ ...OFFICIAL, ...override }))).toBe(reason);
  });

  it('not_json for a valid ciphertext of something that is not a JSON object', () => {
    const key = SELF_MADE.sessionKey;
    for (const data of [[1, 2], 'text', 42, null]) {
      const sealed = encryptOpenData({ data, sessionKey: key });
      expect(reasonOf(() => decryptOpenData({ ...sealed, sessionKey: key, appId: SELF_MADE.appId }))).toBe('not_json');
    }
  });

  it('watermark_mismatch when the watermark is missing or malformed', () => {
    const key = SELF_MADE.sessionKey;
    for (const data of [{ a: 1 }, { watermark: 'x' }, { watermark: { appid: SELF_MADE.appId } }]) {
      const sealed = encryptOpenData({ data, sessionKey: key });
      const reason = reasonOf(() => decryptOpenData({ ...sealed, sessionKey: key, appId: SELF_MADE.appId }));
      expect(reason).toBe('watermark_mismatch');
    }
  });

  it('never throws anything but OpenDataError for non-string inputs', () => {
    const bogus = [undefined, null, 1, {}, []] as unknown as string[];
    for (const value of bogus) {
      expect(() => decryptOpenData({ ...OFFICIAL, sessionKey: value as string })).toThrow(OpenDataError);
      expect(() => decryptOpenData({ ...OFFICIAL, iv: value as string })).toThrow(OpenDataError);
      expect(() => decryptOpenData({ ...OFFICIAL, encryptedData: value as string })).toThrow(OpenDataError);
      expect(() => decryptOpenData({ ...OFFICIAL, appId: value as string })).toThrow(OpenDataError);
    }
    expect(() => decryptOpenData(null as unknown as typeof OFFICIAL)).toThrow(OpenDataError);
  });

  it('keeps key material out of the message', () => {
    try {
      decryptOpenData({ ...OFFICIAL, sessionKey: SIGNED.sessionKey });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain(SIGNED.sessionKey);
      expect(String(error)).not.toContain(OFFICIAL.iv);
    }
  });
});

describe('decodeStrictBase64', () => {
  it('accepts canonical base64 and maps spaces to +', () => {
    expect(decodeStrictBase64('ABEiM0RVZneImaq7zN3u/w==')?.toString('hex')).toBe('00112233445566778899aabbccddeeff');
    expect(decodeStrictBase64('')?.length).toBe(0);
    expect(decodeStrictBase64('a b=')).toEqual(decodeStrictBase64('a+b='));
  });
  it.each(['A', 'AB=', 'A===', 'AB=C', 'AB\n==', 'AB-_', 'QR=='])('rejects %j', (text) => {
    expect(decodeStrictBase64(text)).toBeNull();
  });

  // 64 characters of valid base64 in front put the same flaw past the short-input path
  const LONG = 'A'.repeat(64);
  it.each([
    ['QUJ=', 'non-zero trailing bits after one pad'],
    ['QR==', 'non-zero trailing bits after two pads'],
    ['AB=C', 'a pad inside'],
    ['A===', 'three pads'],
    ['====', 'nothing but pads'],
    ['AB-_', 'the URL-safe alphabet'],
    ['AB\n=', 'a line break'],
    ['ABCDE', 'a length that is not a multiple of 4'],
    ['AB\u00e9=', 'a non-ASCII letter'],
    ['AB\u0141=', "a character whose low byte is 'A'"],
  ])('rejects %j, short and long (%s)', (tail) => {
    expect(decodeStrictBase64(tail)).toBeNull();
    expect(decodeStrictBase64(`${LONG}${tail}`)).toBeNull();
    expect(decodeStrictBase64(`${tail}${LONG}`)).toBeNull();
  });

  it('accepts long input and repairs spaces in it', () => {
    const bytes = Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 37) & 255));
    const text = bytes.toString('base64');
    expect(text.length).toBeGreaterThan(64);
    expect(decodeStrictBase64(text)).toEqual(bytes);
    expect(text).toContain('+');
    expect(decodeStrictBase64(text.replace(/\+/g, ' '))).toEqual(bytes);
  });
});

/** The defining check, written the slow and obvious way: map spaces, require the canonical re-encoding. */
function referenceStrictBase64(text: string): Buffer | null {
  const repaired = text.replace(/ /g, '+');
  if (repaired.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(repaired)) return null;
  const bytes = Buffer.from(repaired, 'base64');
  return bytes.toString('base64') === repaired ? bytes : null;
}

describe('decodeStrictBase64 properties', () => {
  const anyBytes = fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b));
  /** characters that matter to a base64 reader: its alphabet, pads, repairs, look-alikes and foreign ones */
  const tricky = fc.constantFrom(...'ABQgwz059+/= -_\n\t.', '\u00c1', '\u0141', '\u0100', '\uff21', '\u{1F600}');
  /** canonical base64 with a few characters replaced, inserted or deleted */
  const nearMiss = fc
    .tuple(
      anyBytes,
      fc.array(fc.tuple(fc.constantFrom('replace', 'insert', 'delete'), fc.nat(), tricky), {
        minLength: 1,
        maxLength: 3,
      }),
    )
    .map(([bytes, edits]) => {
      let text = bytes.toString('base64');
      for (const [kind, at, ch] of edits) {
        const i = text.length === 0 ? 0 : at % (text.length + (kind === 'insert' ? 1 : 0));
        if (kind === 'insert') text = text.slice(0, i) + ch + text.slice(i);
        else if (kind === 'replace') text = text.slice(0, i) + ch + text.slice(i + 1);
        else text = text.slice(0, i) + text.slice(i + 1);
      }
      return text;
    });

  it('valid input round-trips: any bytes, with or without spaces for +', () => {
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        const text = bytes.toString('base64');
        expect(decodeStrictBase64(text)).toEqual(bytes);
        expect(decodeStrictBase64(text.replace(/\+/g, ' '))).toEqual(bytes);
      }),
    );
  });

  /** decodeStrictBase64 gives the reference's answer: the same bytes, or null where it refuses. */
  const agreesWithReference = (text: string): void => {
    const expected = referenceStrictBase64(text);
    const actual = decodeStrictBase64(text);
    if (expected === null) expect(actual).toBeNull();
    else expect(actual).toEqual(expected);
  };

  it('agrees with the reference on near misses of canonical base64 (short and long)', () => {
    fc.assert(fc.property(nearMiss, agreesWithReference), { numRuns: 2000 });
  });

  it('agrees with the reference on arbitrary strings', () => {
    const text = fc.oneof(
      fc.string({ unit: tricky, maxLength: 100 }),
      fc.string({ unit: 'binary', maxLength: 100 }),
      fc.base64String({ maxLength: 100 }),
    );
    fc.assert(fc.property(text, agreesWithReference), { numRuns: 1000 });
  });

  it('non-zero unused bits in the last character are refused, short and long', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    fc.assert(
      fc.property(
        anyBytes.filter((bytes) => bytes.length % 3 !== 0),
        fc.nat(),
        (bytes, pick) => {
          const text = bytes.toString('base64');
          const pads = bytes.length % 3 === 1 ? 2 : 1;
          const unused = pads === 2 ? 0b1111 : 0b11;
          const at = text.length - pads - 1;
          const index = alphabet.indexOf(text.charAt(at));
          expect(index & unused).toBe(0);
          const changed = `${text.slice(0, at)}${alphabet.charAt(index | (1 + (pick % unused)))}${text.slice(at + 1)}`;
          expect(decodeStrictBase64(changed)).toBeNull();
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('verifySignature (§9.3, §9.5)', () => {
  it('accepts the official triple', () => {
    expect(verifySignature(SIGNED.rawData, SIGNED.signature, SIGNED.sessionKey)).toBe(true);
  });
  it('accepts the anonymous rawData of §9.5 (UTF-8)', () => {
    expect(verifySignature(SELF_MADE.anonymousRawData, SELF_MADE.anonymousSignature, SELF_MADE.sessionKey)).toBe(true);
  });
  it('rejects a wrong signature, a wrong key, changed rawData, uppercase hex and junk', () => {
    expect(verifySignature(SIGNED.rawData, '75e81ceda165f4ffa64f4068af58c64b8f54b88d', SIGNED.sessionKey)).toBe(false);
    expect(verifySignature(SIGNED.rawData, SIGNED.signature, OFFICIAL.sessionKey)).toBe(false);
    expect(verifySignature(`${SIGNED.rawData} `, SIGNED.signature, SIGNED.sessionKey)).toBe(false);
    expect(verifySignature(SIGNED.rawData, SIGNED.signature.toUpperCase(), SIGNED.sessionKey)).toBe(false);
    expect(verifySignature(SIGNED.rawData, SIGNED.signature.slice(0, 39), SIGNED.sessionKey)).toBe(false);
    expect(verifySignature(SIGNED.rawData, '', SIGNED.sessionKey)).toBe(false);
    expect(verifySignature(null as unknown as string, SIGNED.signature, SIGNED.sessionKey)).toBe(false);
  });
});

describe('hmacSessionSignature (§3, §9.4)', () => {
  it('matches the official {"foo":"bar"} vector (key = base64 text)', () => {
    expect(hmacSessionSignature('o0q0otL8aEzpcZL/FT9WsQ==', '{"foo":"bar"}')).toBe(
      '654571f79995b2ce1e149e53c0a33dc39c0a74090db514261454e8dbe432aa0b',
    );
  });
  it.each([
    ['tiihtNczf5v6AKRyjwEUhQ==', '7154f9f8b4b76b92f541cbf0e37d48840fa06e5e42da92a6f80168a1516a4735'],
    ['HyVFkGl5F5OQWJZZaNzBBg==', '252b75c92698025afe925b29cca5517fdf9ee67aae072cf3225ebf3a53783058'],
    ['o0q0otL8aEzpcZL/FT9WsQ==', '46e043c5525c2d817c44be603d30837a808a1d930d038f6fdc3e62a201fed128'],
    [SELF_MADE.sessionKey, SELF_MADE.hmacEmpty],
  ])('signs the empty string with %s', (key, expected) => {
    expect(hmacSessionSignature(key)).toBe(expected);
    expect(hmacSessionSignature(key, '')).toBe(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const APP_ID = 'wx0123456789abcdef';
const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64'));
const watermark = fc.record({ appid: fc.constant(APP_ID), timestamp: fc.integer({ min: 0, max: 2 ** 31 }) });
const anyJsonObject = fc.tuple(fc.dictionary(fc.string(), fc.jsonValue()), watermark).map(([body, mark]) => ({
  ...body,
  watermark: mark,
}));
/**
 * Objects whose compact JSON has no alternative spelling reachable by changing one byte:
 * printable-ASCII strings and integers only (no `\u001f`→`\u001F` or `1e+21`→`1E+21` twins).
 */
const plainJsonObject = fc
  .tuple(
    fc.dictionary(
      fc.string({ minLength: 1 }),
      fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 4 })),
    ),
    watermark,
  )
  .map(([body, mark]) => ({ ...body, watermark: mark }));

/** Decrypts and returns the value or the OpenDataError; any other exception fails the property. */
function attempt(input: { encryptedData: string; iv: string; sessionKey: string; appId: string }): unknown {
  try {
    return decryptOpenData(input);
  } catch (error) {
    if (error instanceof OpenDataError) return error;
    throw error;
  }
}

function flip(base64: string, index: number, mask: number): string {
  const buffer = Buffer.from(base64, 'base64');
  const at = index % buffer.length;
  buffer[at] = (buffer[at] ?? 0) ^ mask;
  return buffer.toString('base64');
}

describe('open-data properties', () => {
  it('encrypt → decrypt round-trips any JSON object with a watermark', () => {
    fc.assert(
      fc.property(anyJsonObject, bytes16, fc.option(bytes16, { nil: undefined }), (data, sessionKey, iv) => {
        const sealed = encryptOpenData({ data, sessionKey, ...(iv === undefined ? {} : { iv }) });
        if (iv !== undefined) expect(sealed.iv).toBe(iv);
        const opened = decryptOpenData({ ...sealed, sessionKey, appId: APP_ID });
        expect(opened).toEqual(JSON.parse(JSON.stringify(data)));
      }),
    );
  });

  it('a flipped ciphertext byte never yields the original object; failures are OpenDataError', () => {
    fc.assert(
      fc.property(
        plainJsonObject,
        bytes16,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (data, sessionKey, at, mask) => {
          const sealed = encryptOpenData({ data, sessionKey });
          const result = attempt({
            ...sealed,
            encryptedData: flip(sealed.encryptedData, at, mask),
            sessionKey,
            appId: APP_ID,
          });
          if (!(result instanceof OpenDataError)) expect(result).not.toEqual(data);
        },
      ),
    );
  });

  it('a flipped iv byte (first block only) gives OpenDataError or a different object, never the original', () => {
    fc.assert(
      fc.property(
        plainJsonObject,
        bytes16,
        fc.nat(15),
        fc.integer({ min: 1, max: 255 }),
        (data, sessionKey, at, mask) => {
          const sealed = encryptOpenData({ data, sessionKey });
          const result = attempt({ ...sealed, iv: flip(sealed.iv, at, mask), sessionKey, appId: APP_ID });
          if (!(result instanceof OpenDataError)) expect(result).not.toEqual(data);
        },
      ),
    );
  });

  it('a different random key fails with bad_padding or not_json', () => {
    fc.assert(
      fc.property(plainJsonObject, bytes16, bytes16, (data, sessionKey, otherKey) => {
        fc.pre(otherKey !== sessionKey);
        const sealed = encryptOpenData({ data, sessionKey });
        const result = attempt({ ...sealed, sessionKey: otherKey, appId: APP_ID });
        expect(result).toBeInstanceOf(OpenDataError);
        expect(['bad_padding', 'not_json']).toContain((result as OpenDataError).reason);
      }),
    );
  });

  it('arbitrary strings for every input never throw anything but OpenDataError', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.base64String(), bytes16);
    fc.assert(
      fc.property(text, text, text, text, (encryptedData, iv, sessionKey, appId) => {
        attempt({ encryptedData, iv, sessionKey, appId });
      }),
      { numRuns: 500 },
    );
  });

  it('verifySignature never throws and accepts only the right signature', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.string({ unit: 'binary' }),
        fc.string(),
        (rawData, sessionKey, other) => {
          const right = createHash('sha1')
            .update(rawData + sessionKey, 'utf8')
            .digest('hex');
          expect(verifySignature(rawData, right, sessionKey)).toBe(true);
          fc.pre(other !== right);
          expect(verifySignature(rawData, other, sessionKey)).toBe(false);
        },
      ),
    );
  });

  it('verifySignature rejects every near miss of the right signature', () => {
    fc.assert(
      fc.property(
        fc.string(),
        bytes16,
        fc.nat(39),
        fc.constantFrom(...'0123456789abcdefABCDEF '),
        (raw, key, at, ch) => {
          const right = createHash('sha1')
            .update(raw + key, 'utf8')
            .digest('hex');
          const wrong = right.slice(0, at) + ch + right.slice(at + 1);
          fc.pre(wrong !== right);
          expect(verifySignature(raw, wrong, key)).toBe(false);
        },
      ),
    );
  });
});
