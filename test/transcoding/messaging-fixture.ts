/**
 * A test service shaped after the examples in google/api/http.proto, built from a
 * FileDescriptorProto so that the tests need no generated code. Equivalent proto:
 *
 *     package test.messaging.v1;
 *     enum Color { COLOR_UNSPECIFIED = 0; COLOR_RED = 1; COLOR_BLUE = 2; }
 *     message SubMessage { string subfield = 1; int32 count = 2; }
 *     message GetMessageRequest {
 *       string message_id = 1; int64 revision = 2; SubMessage sub = 3;
 *       repeated string tags = 4; Color color = 5; bool include_deleted = 6;
 *       repeated Color colors = 7; google.protobuf.Timestamp since = 8;
 *       map<string, string> labels = 9; repeated SubMessage subs = 10;
 *       string name = 11; string user_id = 12; double ratio = 13;
 *     }
 *     message Message { string text = 1; string name = 2; int64 revision = 3; }
 *     message UpdateMessageRequest { string message_id = 1; Message message = 2; }
 *     service Messaging { ... see `rules` below, plus WatchMessages, a server-streaming method ... }
 */
import {
  create,
  createFileRegistry,
  setExtension,
  type DescMessage,
  type DescService,
  type FileRegistry,
} from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  file_google_protobuf_timestamp,
  FileDescriptorProtoSchema,
  MethodOptionsSchema,
  type FieldDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { file_google_api_annotations, http } from "../../gen/es/google/api/annotations_pb";
import { HttpRuleSchema, type HttpRule } from "../../gen/es/google/api/http_pb";

const packageName = "test.messaging.v1";

function field(
  name: string,
  number: number,
  type: Type,
  extra: Partial<Pick<FieldDescriptorProto, "typeName" | "label" | "jsonName">> = {},
) {
  const jsonName = name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
  return { name, number, type, label: Label.OPTIONAL, jsonName, ...extra };
}

export function rule(init: Parameters<typeof create<typeof HttpRuleSchema>>[1]): HttpRule {
  return create(HttpRuleSchema, init);
}

/** The google.api.http rule of each method of the Messaging service. */
export const rules: Record<string, HttpRule> = {
  GetMessage: rule({
    pattern: { case: "get", value: "/v1/messages/{message_id}" },
    additionalBindings: [rule({ pattern: { case: "get", value: "/v1/users/{user_id}/messages/{message_id}" } })],
  }),
  GetMessageByName: rule({ pattern: { case: "get", value: "/v1/{name=messages/*}" } }),
  GetSubMessage: rule({ pattern: { case: "get", value: "/v1/messages/{message_id}/{sub.subfield}" } }),
  UpdateMessage: rule({ pattern: { case: "patch", value: "/v1/messages/{message_id}" }, body: "message" }),
  CancelMessage: rule({ pattern: { case: "post", value: "/v1/{name=messages/*}:cancel" }, body: "*" }),
  GetFile: rule({ pattern: { case: "get", value: "/v1/files/{name=**}" } }),
  GetText: rule({ pattern: { case: "get", value: "/v1/texts/{message_id}" }, responseBody: "text" }),
  GetRevision: rule({ pattern: { case: "get", value: "/v1/revisions/{message_id}" }, responseBody: "revision" }),
};

const methodTypes: Record<string, [string, string]> = {
  GetMessage: ["GetMessageRequest", "Message"],
  GetMessageByName: ["GetMessageRequest", "Message"],
  GetSubMessage: ["GetMessageRequest", "Message"],
  UpdateMessage: ["UpdateMessageRequest", "Message"],
  CancelMessage: ["GetMessageRequest", "Message"],
  GetFile: ["GetMessageRequest", "Message"],
  GetText: ["GetMessageRequest", "Message"],
  GetRevision: ["GetMessageRequest", "Message"],
  WatchMessages: ["GetMessageRequest", "Message"],
};

/**
 * Builds the Messaging file with the given google.api.http rule per method name.
 * Methods without a rule get no option.
 */
export function buildMessagingRegistry(rulesByMethod: Record<string, HttpRule | undefined>): FileRegistry {
  const qualified = (name: string) => `.${packageName}.${name}`;
  const methods = Object.entries(methodTypes).map(([name, [input, output]]) => {
    const options = create(MethodOptionsSchema);
    const methodRule = rulesByMethod[name];
    if (methodRule !== undefined) {
      setExtension(options, http, methodRule);
    }
    const serverStreaming = name === "WatchMessages";
    return { name, inputType: qualified(input), outputType: qualified(output), options, serverStreaming };
  });

  const fileProto = create(FileDescriptorProtoSchema, {
    name: "test/messaging/v1/messaging.proto",
    package: packageName,
    syntax: "proto3",
    dependency: ["google/protobuf/timestamp.proto", "google/api/annotations.proto"],
    enumType: [
      {
        name: "Color",
        value: [
          { name: "COLOR_UNSPECIFIED", number: 0 },
          { name: "COLOR_RED", number: 1 },
          { name: "COLOR_BLUE", number: 2 },
        ],
      },
    ],
    messageType: [
      { name: "SubMessage", field: [field("subfield", 1, Type.STRING), field("count", 2, Type.INT32)] },
      {
        name: "GetMessageRequest",
        field: [
          field("message_id", 1, Type.STRING),
          field("revision", 2, Type.INT64),
          field("sub", 3, Type.MESSAGE, { typeName: qualified("SubMessage") }),
          field("tags", 4, Type.STRING, { label: Label.REPEATED }),
          field("color", 5, Type.ENUM, { typeName: qualified("Color") }),
          field("include_deleted", 6, Type.BOOL),
          field("colors", 7, Type.ENUM, { typeName: qualified("Color"), label: Label.REPEATED }),
          field("since", 8, Type.MESSAGE, { typeName: ".google.protobuf.Timestamp" }),
          field("labels", 9, Type.MESSAGE, {
            typeName: qualified("GetMessageRequest.LabelsEntry"),
            label: Label.REPEATED,
          }),
          field("subs", 10, Type.MESSAGE, { typeName: qualified("SubMessage"), label: Label.REPEATED }),
          field("name", 11, Type.STRING),
          field("user_id", 12, Type.STRING),
          field("ratio", 13, Type.DOUBLE),
        ],
        nestedType: [
          {
            name: "LabelsEntry",
            field: [field("key", 1, Type.STRING), field("value", 2, Type.STRING)],
            options: { mapEntry: true },
          },
        ],
      },
      {
        name: "Message",
        field: [field("text", 1, Type.STRING), field("name", 2, Type.STRING), field("revision", 3, Type.INT64)],
      },
      {
        name: "UpdateMessageRequest",
        field: [
          field("message_id", 1, Type.STRING),
          field("message", 2, Type.MESSAGE, { typeName: qualified("Message") }),
        ],
      },
    ],
    service: [{ name: "Messaging", method: methods }],
  });

  const dependencies = [file_google_protobuf_timestamp, file_google_api_annotations];
  return createFileRegistry(fileProto, (fileName) => dependencies.find((file) => file.proto.name === fileName));
}

export const messagingRegistry = buildMessagingRegistry(rules);

function lookupMessage(name: string): DescMessage {
  const message = messagingRegistry.getMessage(`${packageName}.${name}`);
  if (message === undefined) {
    throw new Error(`fixture message ${name} is missing`);
  }
  return message;
}

export const MessagingService: DescService = messagingRegistry.getService(`${packageName}.Messaging`)!;
export const GetMessageRequestSchema = lookupMessage("GetMessageRequest");
export const MessageSchema = lookupMessage("Message");
export const UpdateMessageRequestSchema = lookupMessage("UpdateMessageRequest");
