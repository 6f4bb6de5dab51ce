// Run: WX_APPID=… WX_SECRET=… WXLOGIN_SECRET=… npm run build && npm start -w @wxlogin/example-embed-fastify
import { resolveConfig } from '@wxlogin/server';
import { buildShop } from './shop.js';

const config = resolveConfig({ env: process.env });
const port = Number(process.env.SHOP_PORT ?? 8080);
const app = await buildShop({ config, jwksUrl: () => `http://127.0.0.1:${port}/auth/.well-known/jwks.json` });
await app.listen({ port, host: '127.0.0.1' });
console.log(`shop on http://127.0.0.1:${port} — login at POST /auth/v1/auth/login, orders at GET /orders`);
