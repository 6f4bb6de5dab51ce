// Compile-time check (root tsconfig): the fake `wx` fits where the mini program
// typings' `wx` is expected, and its Promise/callback overloads resolve like theirs.
import type { FakeRequestSuccess, FakeRequestTask, FakeWx } from './fake-wx.js';

type WxSubset = Pick<
  WechatMiniprogram.Wx,
  | 'login'
  | 'checkSession'
  | 'getSetting'
  | 'getUserProfile'
  | 'getUserInfo'
  | 'request'
  | 'getStorageSync'
  | 'setStorageSync'
  | 'removeStorageSync'
  | 'clearStorageSync'
>;

declare const fake: FakeWx;
export const asWx: WxSubset = fake;

export const loginPromise: Promise<{ code: string; errMsg: string }> = fake.login();
export const loginVoid: undefined = fake.login({ success: (res) => void res.code });
export const profilePromise: Promise<{ rawData: string; encryptedData: string }> = fake.getUserProfile({ desc: 'x' });
export const requestPromise: Promise<FakeRequestSuccess> & FakeRequestTask = fake.request({ url: 'http://127.0.0.1' });
export const requestTask: FakeRequestTask = fake.request({ url: 'http://127.0.0.1', success: () => {} });
export const stored: number = fake.getStorageSync<number>('k');

// @ts-expect-error a callback style call returns nothing
export const notAPromise: Promise<unknown> = fake.checkSession({ fail: () => {} });
