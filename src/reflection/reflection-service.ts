/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) as Connect service implementations, so
 * that buf curl, grpcurl and similar clients can list the services and download their descriptors
 * without a copy of the .proto files. See
 * https://github.com/grpc/grpc/blob/master/doc/server-reflection.md.
 *
 * ServerReflectionInfo is bidi-streaming, so clients call it over HTTP/2. For http:// URLs, buf curl
 * 1.75 switches to h2c by itself when it uses reflection.
 */
import { type DescFile, type FileRegistry, create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import {
  ServerReflection as ServerReflectionV1,
  ServerReflectionResponseSchema as ServerReflectionResponseSchemaV1,
  file_grpc_reflection_v1_reflection,
} from "../../gen/es/grpc/reflection/v1/reflection_pb";
import {
  ServerReflection as ServerReflectionV1alpha,
  ServerReflectionResponseSchema as ServerReflectionResponseSchemaV1alpha,
  file_grpc_reflection_v1alpha_reflection,
} from "../../gen/es/grpc/reflection/v1alpha/reflection_pb";
import { type DescriptorIndex, extensionKey, indexDescriptors, protoFileName } from "./descriptor-index";

/** The fields of a ServerReflectionRequest that v1 and v1alpha share. */
export interface ReflectionRequest {
  host: string;
  messageRequest:
    | { case: "fileByFilename"; value: string }
    | { case: "fileContainingSymbol"; value: string }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
    | { case: "allExtensionNumbersOfType"; value: string }
    | { case: "listServices"; value: string }
    | { case: undefined; value?: undefined };
}

/** The message_response of a ServerReflectionResponse, in the form v1 and v1alpha share. */
export type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

export interface ReflectionServices {
  /** Fully qualified names that list_services returns, in this order. */
  readonly serviceNames: readonly string[];
  readonly v1: ServiceImpl<typeof ServerReflectionV1>;
  readonly v1alpha: ServiceImpl<typeof ServerReflectionV1alpha>;
  /** Registers grpc.reflection.v1.ServerReflection and grpc.reflection.v1alpha.ServerReflection. */
  register(router: ConnectRouter): void;
}

/**
 * Creates the reflection services for the given files (or registries) and the files they import.
 * The reflection protos themselves are always included. `serviceNames` is what list_services
 * returns: by default every service declared in the given files, then the two reflection
 * services. Throws an Error when a listed service is not declared in any of the files.
 */
export function createReflectionServices(
  source: FileRegistry | readonly (FileRegistry | DescFile)[],
  serviceNames?: readonly string[],
): ReflectionServices {
  const sources = Array.isArray(source) ? [...(source as readonly (FileRegistry | DescFile)[])] : [source as FileRegistry];
  const index = indexDescriptors([...sources, file_grpc_reflection_v1_reflection, file_grpc_reflection_v1alpha_reflection]);
  const listed = [...(serviceNames ?? index.declaredServices)];
  for (const name of listed) {
    if (!index.services.has(name)) {
      throw new Error(`reflection cannot list the service "${name}": none of the given files declares it; pass its file descriptor too`);
    }
  }

  const v1: ServiceImpl<typeof ServerReflectionV1> = {
    async *serverReflectionInfo(requests) {
      const sentFiles = new Set<string>();
      for await (const request of requests) {
        const messageResponse = answerReflectionRequest(index, listed, request, sentFiles);
        yield create(ServerReflectionResponseSchemaV1, { validHost: request.host, originalRequest: request, messageResponse });
      }
    },
  };
  const v1alpha: ServiceImpl<typeof ServerReflectionV1alpha> = {
    async *serverReflectionInfo(requests) {
      const sentFiles = new Set<string>();
      for await (const request of requests) {
        const messageResponse = answerReflectionRequest(index, listed, request, sentFiles);
        yield create(ServerReflectionResponseSchemaV1alpha, { validHost: request.host, originalRequest: request, messageResponse });
      }
    },
  };

  return {
    serviceNames: listed,
    v1,
    v1alpha,
    register(router) {
      router.service(ServerReflectionV1, v1);
      router.service(ServerReflectionV1alpha, v1alpha);
    },
  };
}

/**
 * Builds the response to one request of a stream. `sentFiles` contains the files already sent on
 * this stream. A file response always contains the requested file, followed by those of its
 * transitive imports that the stream has not carried yet, as grpc-go's reflection server does.
 * Throws INVALID_ARGUMENT when the request sets none of its message_request fields.
 */
export function answerReflectionRequest(
  index: DescriptorIndex,
  serviceNames: readonly string[],
  request: ReflectionRequest,
  sentFiles: Set<string>,
): ReflectionAnswer {
  const fileResponse = (file: DescFile): ReflectionAnswer => ({
    case: "fileDescriptorResponse",
    value: { fileDescriptorProto: collectFiles(index, file, sentFiles) },
  });
  const notFound = (errorMessage: string): ReflectionAnswer => ({
    case: "errorResponse",
    value: { errorCode: Code.NotFound, errorMessage },
  });

  const query = request.messageRequest;
  switch (query.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: serviceNames.map((name) => ({ name })) } };

    case "fileByFilename": {
      const file = index.files.get(query.value);
      return file ? fileResponse(file) : notFound(`file "${query.value}" not found`);
    }

    case "fileContainingSymbol": {
      const symbol = stripLeadingDot(query.value);
      const file = index.symbols.get(symbol);
      return file ? fileResponse(file) : notFound(`symbol "${symbol}" not found`);
    }

    case "fileContainingExtension": {
      const extendee = stripLeadingDot(query.value.containingType);
      const number = query.value.extensionNumber;
      if (!index.messages.has(extendee)) return notFound(`message "${extendee}" not found`);
      const file = index.extensions.get(extensionKey(extendee, number));
      return file ? fileResponse(file) : notFound(`extension ${number} of message "${extendee}" not found`);
    }

    case "allExtensionNumbersOfType": {
      const extendee = stripLeadingDot(query.value);
      if (!index.messages.has(extendee)) return notFound(`message "${extendee}" not found`);
      const extensionNumber = [...(index.extensionNumbers.get(extendee) ?? [])];
      return { case: "allExtensionNumbersResponse", value: { baseTypeName: extendee, extensionNumber } };
    }

    default:
      throw new ConnectError(
        "invalid reflection request: set one of file_by_filename, file_containing_symbol, " +
          "file_containing_extension, all_extension_numbers_of_type or list_services",
        Code.InvalidArgument,
      );
  }
}

/** Returns the encoded file, then its imports breadth-first, skipping imports already in `sentFiles`. */
function collectFiles(index: DescriptorIndex, requested: DescFile, sentFiles: Set<string>): Uint8Array[] {
  const encoded: Uint8Array[] = [];
  const queue = [requested];
  const visited = new Set<string>();
  while (queue.length > 0) {
    const file = queue.shift()!;
    const name = protoFileName(file);
    if (visited.has(name)) continue;
    visited.add(name);
    if (file === requested || !sentFiles.has(name)) {
      encoded.push(index.encoded.get(name)!);
      sentFiles.add(name);
    }
    queue.push(...file.dependencies);
  }
  return encoded;
}

function stripLeadingDot(name: string): string {
  return name.startsWith(".") ? name.slice(1) : name;
}
