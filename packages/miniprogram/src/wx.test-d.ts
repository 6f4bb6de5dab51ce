// Compile-time check (root tsconfig): the runtime's `wx` and the simulator's fake fit `WxLike`.
import type { FakeWx } from '@wxlogin/simulator';
import type { WxLike } from './wx.js';

declare const fake: FakeWx;
export const real: WxLike = wx;
export const simulated: WxLike = fake;
