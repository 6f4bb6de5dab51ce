// The avatar/nickname fill-in: <button open-type="chooseAvatar"> + <input type="nickname">
// in a form (the nickname is security-checked on blur, so read it on submit).
const { auth } = getApp();

const DEFAULT_AVATAR =
  'https://mmbiz.qpic.cn/mmbiz/icTdbqWNOwNRna42FI242Lcia07jQodd2FJGIYQfG0LAJGFxM4FbnQP6yfMxBgJ0F3YRqJCJ1aPAK2dQagdusBZg/0';

Page({
  data: {
    avatarUrl: '',
    avatarChanged: false,
    nickname: '',
    saving: false,
    error: '',
    defaultAvatar: DEFAULT_AVATAR,
  },

  async onLoad() {
    try {
      const profile = await auth.getProfile();
      this.setData({ avatarUrl: profile.avatarUrl || '', nickname: profile.nickname || '' });
    } catch (error) {
      this.setData({ error: error.message });
    }
  },

  onChooseAvatar(e) {
    // a temporary local file; it is uploaded on save
    this.setData({ avatarUrl: e.detail.avatarUrl, avatarChanged: true });
  },

  async onSubmit(e) {
    const nickname = (e.detail.value.nickname || '').trim();
    const fields = {};
    if (nickname) fields.nickname = nickname;
    this.setData({ saving: true, error: '' });
    try {
      if (this.data.avatarChanged) fields.avatarUrl = await uploadAvatar(this.data.avatarUrl);
      if (!fields.nickname && !fields.avatarUrl) {
        this.setData({ saving: false, error: 'Choose an avatar or type a nickname.' });
        return;
      }
      await auth.updateProfile(fields);
      this.setData({ saving: false, avatarChanged: false });
      wx.navigateBack();
    } catch (error) {
      this.setData({ saving: false, error: error.message });
    }
  },
});

/**
 * The avatar from chooseAvatar is a temporary file on this device. Upload it to
 * your own storage (wx.uploadFile to your server, or cloud storage) and return
 * the lasting URL. This example has no file service, so it keeps the local path,
 * which only this device can show.
 */
async function uploadAvatar(tempFilePath) {
  return tempFilePath;
}
