export { createHerald, type Herald, type HeraldDelivery, type HeraldOptions, type HeraldState } from "./herald";
export { HeraldDisabledError, HeraldError, HeraldRejectedError, HeraldTransientError } from "./errors";
export { buildMessage, type WebhookMessage } from "./message";
export type { GateResult, JobNotice } from "./notice";
