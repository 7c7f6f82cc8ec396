/** The worker contract on PostgreSQL + BullMQ (the shared Redis, a fresh queue per test) + disk. */
import { workerContract } from '../contracts/jobs-worker.js';
import { postgresBullmqDeployment } from './postgres-bullmq-deployment.js';

workerContract('PostgreSQL + BullMQ + disk', () => postgresBullmqDeployment('takeout_worker'));
