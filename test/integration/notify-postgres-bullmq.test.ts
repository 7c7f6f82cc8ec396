/** Notifications on PostgreSQL + BullMQ (the shared Redis, a fresh queue per test) + disk. */
import { notifyContract } from '../contracts/notify.js';
import { postgresBullmqDeployment } from './postgres-bullmq-deployment.js';

notifyContract('PostgreSQL + BullMQ', () => postgresBullmqDeployment('takeout_notify'));
