import type { WechatRequest, WireObject } from '../http.js';
import { wireNumber, wireObject, wireString } from '../http.js';

/** A user's phone number as WeChat vouches for it. */
export interface PhoneInfo {
  /** as bound; foreign numbers include the country code */
  phoneNumber: string;
  /** without the country code */
  purePhoneNumber: string;
  /** e.g. '86' (WeChat sends a number or a string; always a string here) */
  countryCode: string;
  /** `timestamp` is Unix seconds of the phone action */
  watermark: { appId: string; timestamp: number };
}

/** getuserphonenumber success body. */
interface WirePhoneNumber {
  errcode: 0;
  errmsg: string;
  phone_info: {
    phoneNumber: string;
    purePhoneNumber: string;
    countryCode: string | number;
    watermark: { timestamp: number; appid: string };
  };
}

function parse(wire: WireObject): PhoneInfo | null {
  const info = wireObject(wire, 'phone_info');
  if (info === null) return null;
  const phoneNumber = wireString(info, 'phoneNumber');
  const purePhoneNumber = wireString(info, 'purePhoneNumber');
  const rawCountry = info.countryCode;
  const watermark = wireObject(info, 'watermark');
  if (phoneNumber === null || purePhoneNumber === null || watermark === null) return null;
  if (!(typeof rawCountry === 'string' || (typeof rawCountry === 'number' && Number.isFinite(rawCountry)))) {
    return null;
  }
  const appid = wireString(watermark, 'appid');
  const timestamp = wireNumber(watermark, 'timestamp');
  if (appid === null || timestamp === null) return null;
  const typed: WirePhoneNumber['phone_info'] = {
    phoneNumber,
    purePhoneNumber,
    countryCode: rawCountry,
    watermark: { appid, timestamp },
  };
  return {
    phoneNumber: typed.phoneNumber,
    purePhoneNumber: typed.purePhoneNumber,
    countryCode: String(typed.countryCode),
    watermark: { appId: typed.watermark.appid, timestamp: typed.watermark.timestamp },
  };
}

/** `POST /wxa/business/getuserphonenumber?access_token=` with `{code[, openid]}`: the code is single-use (5 min). */
export function phoneNumberRequest(
  accessToken: string,
  code: string,
  openId: string | undefined,
): WechatRequest<PhoneInfo> {
  return {
    endpoint: 'getuserphonenumber',
    method: 'POST',
    path: '/wxa/business/getuserphonenumber',
    query: { access_token: accessToken },
    body: openId === undefined ? { code } : { code, openid: openId },
    parse,
  };
}
