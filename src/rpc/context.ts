import { createContextKey } from "@connectrpc/connect";

/** Name of the API key that authenticated the call; the actor on the events it causes. */
export const actorKey = createContextKey<string>("anonymous", { description: "authenticated actor" });

/** Aborts when the call's deadline passes: the client's, or the server default when it sent none. */
export const deadlineSignalKey = createContextKey<AbortSignal | undefined>(undefined, { description: "call deadline" });
