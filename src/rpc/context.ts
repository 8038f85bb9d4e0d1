import { createContextKey } from "@connectrpc/connect";

/** Name of the API key that authenticated the call; the actor on the events it causes. */
export const actorKey = createContextKey<string>("anonymous", { description: "authenticated actor" });
