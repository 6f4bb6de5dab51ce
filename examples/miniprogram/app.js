// One wxlogin client for the whole mini program, kept on the App instance.
const { createAuth } = require('@wxlogin/miniprogram');

// `wxlogin dev` listens here. The devtools refuse non-whitelisted domains unless
// "Do not verify valid domain names" is ticked (Details → Local Settings); this
// project sets `urlCheck: false` for that. In production use your HTTPS domain,
// listed under "request legal domains" in the mini program console.
const BASE_URL = 'http://127.0.0.1:3000';

const auth = createAuth({ baseUrl: BASE_URL });

App({
  auth,

  onLaunch() {
    // Start logging in at once. Pages that call ensureLogin() meanwhile share this
    // login: one wx.login, one code, no "code been used" (40163).
    auth.ensureLogin().catch((error) => {
      console.warn('wxlogin: login failed', error.code, error.message);
    });
    auth.on('logout', ({ reason }) => {
      console.info('wxlogin: logged out', reason);
    });
  },
});
