/** Entry point: read the configuration, apply migrations, serve, and stop gracefully on SIGTERM or SIGINT. */
import { createApp } from "./app";
import { ConfigError, loadConfig } from "./config";
import { createLogger } from "./logger";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`coordinator-jobs: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  process.on("unhandledRejection", (reason) => logger.error({ err: reason }, "unhandled promise rejection"));
  if (config.apiKeys.length === 0) {
    logger.warn("COORDINATOR_API_KEYS is empty: authentication is OFF (development mode); every caller is accepted");
  }

  const app = await createApp(config, logger);
  const port = await app.listen();
  logger.info({ port, host: config.host, queue: config.defaultQueue, herald: app.herald.configured }, "coordinator-jobs listening");

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping: draining in-flight calls");
    await app.close();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((error) => {
  process.stderr.write(`coordinator-jobs failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
