/**
 * Lookup tables for gRPC server reflection: files by name, the file that declares each fully
 * qualified symbol, and extensions by the message they extend.
 */
import { type DescFile, type DescMessage, type FileRegistry, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

export interface DescriptorIndex {
  /** Every file, keyed by its name with the `.proto` suffix, such as "coordinator/v1/job.proto". */
  readonly files: ReadonlyMap<string, DescFile>;
  /** The file declaring each service, method, message, field, oneof, enum, enum value and extension. */
  readonly symbols: ReadonlyMap<string, DescFile>;
  /** Fully qualified names of the messages in `files`. */
  readonly messages: ReadonlySet<string>;
  /** Fully qualified names of the services in `files`. */
  readonly services: ReadonlySet<string>;
  /** The file declaring each extension, keyed by `extensionKey`. */
  readonly extensions: ReadonlyMap<string, DescFile>;
  /** Extension field numbers of each extended message, in ascending order. */
  readonly extensionNumbers: ReadonlyMap<string, number[]>;
  /** Serialized google.protobuf.FileDescriptorProto of each file. */
  readonly encoded: ReadonlyMap<string, Uint8Array>;
  /** Services declared by the files that were passed in, as opposed to their imports. */
  readonly declaredServices: string[];
}

export function extensionKey(extendee: string, number: number): string {
  return `${extendee}#${number}`;
}

/** Returns the file's name as written in import statements, with its `.proto` suffix. */
export function protoFileName(file: DescFile): string {
  return file.proto.name;
}

/**
 * Indexes the given files and, transitively, every file they import. A FileRegistry contributes
 * all of its files. Throws an Error when two different descriptors claim one file name.
 */
export function indexDescriptors(sources: readonly (FileRegistry | DescFile)[]): DescriptorIndex {
  const files = new Map<string, DescFile>();
  const declaredServices: string[] = [];
  const addWithImports = (file: DescFile): void => {
    const name = protoFileName(file);
    const known = files.get(name);
    if (known === file) return;
    if (known !== undefined) {
      throw new Error(`two different descriptors for the file "${name}" were given to reflection; pass each file once`);
    }
    files.set(name, file);
    for (const dependency of file.dependencies) addWithImports(dependency);
  };

  for (const source of sources) {
    const sourceFiles = source.kind === "file" ? [source] : [...source.files];
    for (const file of sourceFiles) {
      addWithImports(file);
      for (const service of file.services) {
        if (!declaredServices.includes(service.typeName)) declaredServices.push(service.typeName);
      }
    }
  }

  const symbols = new Map<string, DescFile>();
  const messages = new Set<string>();
  const services = new Set<string>();
  const extensions = new Map<string, DescFile>();
  const extensionNumbers = new Map<string, number[]>();
  const encoded = new Map<string, Uint8Array>();
  for (const [name, file] of files) {
    encoded.set(name, toBinary(FileDescriptorProtoSchema, file.proto));
    const addExtension = (extension: { typeName: string; number: number; extendee: DescMessage }): void => {
      symbols.set(extension.typeName, file);
      extensions.set(extensionKey(extension.extendee.typeName, extension.number), file);
      const numbers = extensionNumbers.get(extension.extendee.typeName) ?? [];
      numbers.push(extension.number);
      extensionNumbers.set(extension.extendee.typeName, numbers);
    };
    const addMessage = (message: DescMessage): void => {
      symbols.set(message.typeName, file);
      messages.add(message.typeName);
      for (const field of message.fields) symbols.set(`${message.typeName}.${field.name}`, file);
      for (const oneof of message.oneofs) symbols.set(`${message.typeName}.${oneof.name}`, file);
      for (const nested of message.nestedMessages) addMessage(nested);
      // protobuf-es has no DescMessage for the entry type of a map field, but the descriptor does.
      for (const nested of message.proto.nestedType) {
        if (!nested.options?.mapEntry) continue;
        const entryName = `${message.typeName}.${nested.name}`;
        symbols.set(entryName, file);
        messages.add(entryName);
        for (const field of nested.field) symbols.set(`${entryName}.${field.name}`, file);
      }
      for (const nested of message.nestedEnums) addEnum(nested.typeName, nested.values, message.typeName);
      for (const extension of message.nestedExtensions) addExtension(extension);
    };
    // Enum values are scoped beside their enum, not inside it: coordinator.v1.JOB_STATUS_QUEUED.
    const addEnum = (typeName: string, values: readonly { name: string }[], scope: string): void => {
      symbols.set(typeName, file);
      for (const value of values) symbols.set(scope === "" ? value.name : `${scope}.${value.name}`, file);
    };

    for (const message of file.messages) addMessage(message);
    for (const enumeration of file.enums) addEnum(enumeration.typeName, enumeration.values, file.proto.package);
    for (const extension of file.extensions) addExtension(extension);
    for (const service of file.services) {
      symbols.set(service.typeName, file);
      services.add(service.typeName);
      for (const method of service.methods) symbols.set(`${service.typeName}.${method.name}`, file);
    }
  }
  for (const numbers of extensionNumbers.values()) numbers.sort((a, b) => a - b);

  return { files, symbols, messages, services, extensions, extensionNumbers, encoded, declaredServices };
}
