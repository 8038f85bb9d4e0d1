export { createReflectionServices, answerReflectionRequest } from "./reflection-service";
export type { ReflectionAnswer, ReflectionRequest, ReflectionServices } from "./reflection-service";
export { indexDescriptors } from "./descriptor-index";
export type { DescriptorIndex } from "./descriptor-index";
