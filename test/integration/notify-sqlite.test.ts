/** Notifications on SQLite + the embedded queue + disk. */
import { notifyContract } from '../contracts/notify.js';

notifyContract('SQLite + embedded queue', async () => ({ env: {}, cleanup: async () => {} }));
