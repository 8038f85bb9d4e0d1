/**
 * One client interface over the three transports the benchmark drives: gRPC through @grpc/grpc-js
 * and the ts-proto generated client, Connect with the JSON codec over HTTP/1.1, and the REST/JSON
 * routes over HTTP/1.1. The two HTTP/1.1 transports share one keep-alive request function, so
 * they differ only in paths, methods and what the server does with them.
 */
import http from "node:http";
import * as grpc from "@grpc/grpc-js";
import {
  CoordinatorJobsServiceClient,
  type CreateJobResponse,
  type GetJobResponse,
} from "../gen/ts-proto/coordinator/v1/coordinator_jobs_service";
import { JobStatus } from "../gen/ts-proto/coordinator/v1/job";
import type { Transport } from "./options";
import type { CreateJobBody, StepBody } from "./requests";

export interface CreatedJob {
  id: string;
  /** False when the service stored the job but could not put it on its queue in time. */
  dispatched: boolean;
}

export interface JobPageSummary {
  events: number;
  steps: number;
  nextPageToken: string;
}

export interface JobClient {
  readonly transport: Transport;
  createJob(body: CreateJobBody): Promise<CreatedJob>;
  startJob(id: string): Promise<void>;
  reportProgress(id: string, percent: number, message: string, step?: StepBody): Promise<void>;
  completeJob(id: string, result: Record<string, unknown>, summary: string): Promise<void>;
  /** Reads a job and one page of its events. A `pageSize` of 0 requests the service's default page size. */
  getJob(id: string, pageSize?: number): Promise<JobPageSummary>;
  close(): void;
}

export interface ClientOptions {
  port: number;
  apiKey: string;
  /** Open connections for the HTTP/1.1 transports: one per concurrent client. */
  connections: number;
  /** Deadline of each call. A call past it fails instead of holding its client. */
  callTimeoutMs: number;
}

export function createClient(transport: Transport, options: ClientOptions): JobClient {
  if (transport === "grpc") return new GrpcJobClient(options);
  const http1 = new Http1JsonClient(options);
  return transport === "connect" ? new ConnectJsonClient(http1) : new RestJsonClient(http1);
}

type UnaryMethod<Request, Response> = (
  request: Request,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Response) => void,
) => grpc.ClientUnaryCall;

/** gRPC over one HTTP/2 channel that all concurrent clients share, as one coordinator process would. */
class GrpcJobClient implements JobClient {
  readonly transport = "grpc" as const;
  private readonly client: CoordinatorJobsServiceClient;
  private readonly metadata = new grpc.Metadata();

  constructor(private readonly options: ClientOptions) {
    this.client = new CoordinatorJobsServiceClient(`127.0.0.1:${options.port}`, grpc.credentials.createInsecure());
    this.metadata.set("x-api-key", options.apiKey);
  }

  private unary<Request, Response>(method: UnaryMethod<Request, Response>, request: Request): Promise<Response> {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + this.options.callTimeoutMs;
      method.call(this.client, request, this.metadata, { deadline }, (error, response) => (error ? reject(error) : resolve(response)));
    });
  }

  async createJob(body: CreateJobBody): Promise<CreatedJob> {
    const response: CreateJobResponse = await this.unary(this.client.createJob, {
      requestId: body.requestId,
      type: body.type,
      queue: "",
      priority: 0,
      source: { ...body.source, pullRequestNumber: 0 },
      payload: body.payload,
    });
    return { id: response.job?.id ?? "", dispatched: response.dispatched };
  }

  async startJob(id: string): Promise<void> {
    await this.unary(this.client.updateJobStatus, { id, status: JobStatus.JOB_STATUS_RUNNING, message: "runner picked the job" });
  }

  async reportProgress(id: string, percent: number, message: string, step?: StepBody): Promise<void> {
    await this.unary(this.client.updateJobProgress, { id, percent, message, step });
  }

  async completeJob(id: string, result: Record<string, unknown>, summary: string): Promise<void> {
    await this.unary(this.client.completeJob, { id, result, summary });
  }

  async getJob(id: string, pageSize = 0): Promise<JobPageSummary> {
    const response: GetJobResponse = await this.unary(this.client.getJob, { id, pageSize, pageToken: "" });
    return { events: response.events.length, steps: response.steps.length, nextPageToken: response.nextPageToken };
  }

  close(): void {
    this.client.close();
  }
}

/** JSON requests over HTTP/1.1 keep-alive connections, one connection per concurrent request. */
class Http1JsonClient {
  private readonly agent: http.Agent;

  constructor(private readonly options: ClientOptions) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.connections, maxFreeSockets: options.connections });
  }

  /** Sends one request and resolves with the parsed JSON body of a 2xx response, or rejects with the status and body. */
  send(method: string, path: string, headers: http.OutgoingHttpHeaders, body?: unknown): Promise<Record<string, unknown>> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          agent: this.agent,
          host: "127.0.0.1",
          port: this.options.port,
          method,
          path,
          timeout: this.options.callTimeoutMs,
          headers: {
            "x-api-key": this.options.apiKey,
            ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}),
            ...headers,
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const status = response.statusCode ?? 0;
            if (status < 200 || status > 299) {
              reject(new Error(`${method} ${path} failed with HTTP ${status}: ${text.slice(0, 300)}`));
              return;
            }
            try {
              resolve(text === "" ? {} : (JSON.parse(text) as Record<string, unknown>));
            } catch (error) {
              reject(new Error(`${method} ${path} returned a body that is not JSON: ${String(error)}`));
            }
          });
        },
      );
      request.on("timeout", () => request.destroy(new Error(`${method} ${path} timed out after ${this.options.callTimeoutMs} ms`)));
      request.on("error", reject);
      request.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

interface JsonJobResponse {
  job?: { id?: string };
  dispatched?: boolean;
}

interface JsonPageResponse {
  events?: unknown[];
  steps?: unknown[];
  nextPageToken?: string;
}

function createdJob(response: Record<string, unknown>): CreatedJob {
  const typed = response as JsonJobResponse;
  // Protobuf JSON leaves out fields at their default, so a missing `dispatched` means false.
  return { id: typed.job?.id ?? "", dispatched: typed.dispatched === true };
}

function pageSummary(response: Record<string, unknown>): JobPageSummary {
  const typed = response as JsonPageResponse;
  return { events: typed.events?.length ?? 0, steps: typed.steps?.length ?? 0, nextPageToken: typed.nextPageToken ?? "" };
}

/** The Connect protocol with the JSON codec: every method is a POST to /package.Service/Method. */
class ConnectJsonClient implements JobClient {
  readonly transport = "connect" as const;
  private static readonly HEADERS = { "connect-protocol-version": "1" };

  constructor(private readonly http1: Http1JsonClient) {}

  private call(method: string, body: unknown): Promise<Record<string, unknown>> {
    return this.http1.send("POST", `/coordinator.v1.CoordinatorJobsService/${method}`, ConnectJsonClient.HEADERS, body);
  }

  async createJob(body: CreateJobBody): Promise<CreatedJob> {
    return createdJob(await this.call("CreateJob", body));
  }

  async startJob(id: string): Promise<void> {
    await this.call("UpdateJobStatus", { id, status: "JOB_STATUS_RUNNING", message: "runner picked the job" });
  }

  async reportProgress(id: string, percent: number, message: string, step?: StepBody): Promise<void> {
    await this.call("UpdateJobProgress", { id, percent, message, step });
  }

  async completeJob(id: string, result: Record<string, unknown>, summary: string): Promise<void> {
    await this.call("CompleteJob", { id, result, summary });
  }

  async getJob(id: string, pageSize = 0): Promise<JobPageSummary> {
    return pageSummary(await this.call("GetJob", pageSize ? { id, pageSize } : { id }));
  }

  close(): void {
    this.http1.close();
  }
}

/** The REST/JSON routes from the contract's google.api.http annotations. */
class RestJsonClient implements JobClient {
  readonly transport = "rest" as const;

  constructor(private readonly http1: Http1JsonClient) {}

  async createJob(body: CreateJobBody): Promise<CreatedJob> {
    return createdJob(await this.http1.send("POST", "/coordinator/jobs", {}, body));
  }

  async startJob(id: string): Promise<void> {
    await this.http1.send("PATCH", `/coordinator/jobs/${id}/status`, {}, { status: "JOB_STATUS_RUNNING", message: "runner picked the job" });
  }

  async reportProgress(id: string, percent: number, message: string, step?: StepBody): Promise<void> {
    await this.http1.send("PATCH", `/coordinator/jobs/${id}/progress`, {}, { percent, message, step });
  }

  async completeJob(id: string, result: Record<string, unknown>, summary: string): Promise<void> {
    await this.http1.send("POST", `/coordinator/jobs/${id}/complete`, {}, { result, summary });
  }

  async getJob(id: string, pageSize = 0): Promise<JobPageSummary> {
    const query = pageSize ? `?pageSize=${pageSize}` : "";
    return pageSummary(await this.http1.send("GET", `/coordinator/jobs/${id}${query}`, {}));
  }

  close(): void {
    this.http1.close();
  }
}
