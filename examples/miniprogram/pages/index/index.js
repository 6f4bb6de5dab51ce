// Logs in on launch and shows the profile; binds the phone number; logs out.
const { auth } = getApp();

const DEFAULT_AVATAR =
  'https://mmbiz.qpic.cn/mmbiz/icTdbqWNOwNRna42FI242Lcia07jQodd2FJGIYQfG0LAJGFxM4FbnQP6yfMxBgJ0F3YRqJCJ1aPAK2dQagdusBZg/0';

Page({
  data: {
    loading: true,
    error: '',
    message: '',
    profile: null,
    defaultAvatar: DEFAULT_AVATAR,
  },

  onLoad() {
    this.load();
  },

  onShow() {
    // back from the profile page: show the new nickname and avatar
    if (this.data.profile) this.load();
  },

  async load() {
    this.setData({ loading: true, error: '' });
    try {
      await auth.ensureLogin();
      const profile = await auth.getProfile();
      this.setData({ loading: false, profile });
      // Only the legacy phone flow (base library < 2.21.2, no e.detail.code) needs it:
      // make sure the service holds the current session key before the user taps.
      await auth.ensureSessionKey();
    } catch (error) {
      this.setData({ loading: false, error: describe(error) });
    }
  },

  async onGetPhoneNumber(e) {
    try {
      const phone = await auth.bindPhone(e.detail);
      this.setData({ message: `Bound ${phone.phoneNumber}`, 'profile.phoneNumber': phone.phoneNumber });
    } catch (error) {
      const messages = {
        user_denied: '',
        phone_quota_exhausted: 'Phone number verification is unavailable right now.',
        data_stale: 'Please tap the button once more.',
      };
      this.setData({ message: error.code in messages ? messages[error.code] : describe(error) });
    }
  },

  goProfile() {
    wx.navigateTo({ url: '/pages/profile/profile' });
  },

  async logout() {
    await auth.logout();
    this.setData({ profile: null, message: '' });
  },
});

function describe(error) {
  if (!error) return 'Something went wrong.';
  if (error.code === 'network_error') return 'Cannot reach the login service. Is `wxlogin dev` running?';
  return error.message || String(error);
}
