// attachment-validator: chat_api's attachment rules (ACCEPTED_IMAGE_MIME, ACCEPTED_IMAGE_FILES,
// MIME_TO_EXT) plus what chat_api left to the application: a size limit and a check that the
// bytes really are what the declared MIME type says.
import GatewayPlugin

@_cdecl("gateway_plugin_entry")
public func gatewayPluginEntry() -> UnsafeRawPointer { export(AttachmentValidator.self) }

struct AttachmentValidator: AttachmentValidationPlugin {
    static let name = "attachment-validator"
    static let version = "1.0.0"

    /// chat_api's ACCEPTED_IMAGE_MIME plus the PDF spellings of its MIME_TO_EXT.
    static let defaultMIMETypes = [
        "image/gif", "image/png", "image/jpg", "image/jpeg",
        "application/pdf", "application/x-pdf", "application/vnd.pdf", "text/pdf",
    ]
    /// chat_api's ACCEPTED_IMAGE_FILES plus the values of its MIME_TO_EXT.
    static let defaultExtensions = ["gif", "png", "jpg", "jpeg", "pdf"]
    /// chat_api's predefined attachment types, plus "pdf", the custom type its README shows.
    static let defaultTypes = ["image", "pdf", "youtube", "object_reference"]

    let types: [String]
    let acceptedMIMETypes: Set<String>
    let acceptedExtensions: Set<String>
    let maxBytes: Int

    init(config: JSONView, host: PluginHost) throws(PluginConfigError) {
        let reader = try PluginConfig(config, codePrefix: "attachment_validator",
                                      allowedKeys: ["types", "accepted_mime", "accepted_extensions", "max_bytes"])
        types = try reader.strings("types", default: Self.defaultTypes)
        acceptedMIMETypes = Set(try reader.strings("accepted_mime", default: Self.defaultMIMETypes).map { $0.lowercased() })
        acceptedExtensions = Set(try reader.strings("accepted_extensions", default: Self.defaultExtensions).map { $0.lowercased() })
        maxBytes = try reader.int("max_bytes", default: 10 * 1024 * 1024, in: 1...(1 << 31))
        // Accepting a MIME type whose bytes cannot be checked would let anything through under it.
        for mime in acceptedMIMETypes.sorted() where ContentKind(mime: mime) == nil {
            throw reader.error("unverifiable_mime", "accepted_mime lists '\(mime)', whose content this validator cannot verify; supported: PNG, JPEG, GIF, WebP, PDF")
        }
        for fileExtension in acceptedExtensions.sorted() where ContentKind(fileExtension: fileExtension) == nil {
            throw reader.error("unverifiable_extension", "accepted_extensions lists '\(fileExtension)', which matches no supported content type (png, jpg, jpeg, gif, webp, pdf)")
        }
    }

    func validate(_ attachment: Attachment) throws -> AttachmentVerdict {
        guard let type = attachment.type else { return .reject("The attachment has no type.") }
        guard types.contains(type) else {
            return .reject("Attachments of type '\(type)' are not accepted. Accepted types: \(types.joined(separator: ", ")).")
        }
        switch type {
        case "youtube":
            guard let url = attachment.url, YouTubeURL.videoID(in: url) != nil else {
                return .reject("A youtube attachment needs a YouTube video link (https://www.youtube.com/watch?v=… or https://youtu.be/…).")
            }
            return .accept
        case "object_reference":
            // A reference to an object the application already stores: there is nothing to inspect.
            return .accept
        default:
            return validateFile(attachment, type: type)
        }
    }

    private func validateFile(_ attachment: Attachment, type: String) -> AttachmentVerdict {
        guard let declaredMIME = attachment.mime?.lowercased() else {
            return .reject("The attachment has no MIME type.")
        }
        guard acceptedMIMETypes.contains(declaredMIME), let declaredKind = ContentKind(mime: declaredMIME) else {
            return .reject("Files of type \(declaredMIME) are not accepted. Accepted: \(acceptedMIMETypes.sorted().joined(separator: ", ")).")
        }
        if type == "image" && !declaredKind.isImage || type == "pdf" && declaredKind != .pdf {
            return .reject("A \(type) attachment cannot be of type \(declaredMIME).")
        }
        let bytes = attachment.bytes
        guard !bytes.isEmpty else { return .reject("The attachment is empty.") }
        guard bytes.count <= maxBytes else {
            return .reject("The attachment is too large: \(bytes.count) bytes; the limit is \(maxBytes) bytes.")
        }
        if let declaredSize = attachment.declaredSize, declaredSize != bytes.count {
            return .reject("The attachment's declared size (\(declaredSize) bytes) does not match its content (\(bytes.count) bytes).")
        }
        if let verdict = checkExtension(of: attachment.name, declaredMIME: declaredMIME, declaredKind: declaredKind) {
            return verdict
        }
        guard let actualKind = ContentKind(sniffing: bytes), actualKind == declaredKind else {
            return .refuse(code: "attachment.content_mismatch", status: 415,
                           reason: "The file content is not a \(declaredKind.rawValue) as its type \(declaredMIME) says.")
        }
        return .accept
    }

    /// nil when the name is acceptable (or absent, or has no extension), else the rejection.
    private func checkExtension(of name: String?, declaredMIME: String, declaredKind: ContentKind) -> AttachmentVerdict? {
        guard let name, let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        let fileExtension = name[name.index(after: dot)...].lowercased()
        guard acceptedExtensions.contains(fileExtension) else {
            return .reject("Files ending in .\(fileExtension) are not accepted. Accepted: \(acceptedExtensions.sorted().joined(separator: ", ")).")
        }
        guard ContentKind(fileExtension: fileExtension) == declaredKind else {
            return .reject("The file name extension .\(fileExtension) does not match its type \(declaredMIME).")
        }
        return nil
    }
}
