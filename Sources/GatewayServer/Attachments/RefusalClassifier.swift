import GatewayCore

/// Turns a plugin's refusal into the client-facing error. Plugins refuse with a message; the
/// bundled ones start it with a stable code ("image.truncated: ..."), which decides the status:
///
///   image.mime_mismatch, image.unknown_format, or bytes that contradict the declared type
///                                   → 415 attachment.content_mismatch
///   any other image.* code          → 422 attachment.bad_image (corrupt or hostile image)
///   anything else at validation     → 415 attachment.unsupported_type
///   anything else at thumbnailing   → 422 attachment.bad_image
enum RefusalClassifier {
    enum Stage { case validation, thumbnail }

    static func refusal(_ message: String, stage: Stage, contradictsDeclaredType: Bool) -> GatewayError {
        let code = leadingCode(of: message)
        if contradictsDeclaredType || code == "image.mime_mismatch" || code == "image.unknown_format" {
            return .attachmentContentMismatch(message)
        }
        if stage == .thumbnail || code?.hasPrefix("image.") == true {
            return .attachmentBadImage(message)
        }
        return .attachmentUnsupportedType(message)
    }

    /// "image.truncated: the PNG ..." → "image.truncated"; nil when the message has no code.
    static func leadingCode(of message: String) -> String? {
        guard let colon = message.firstIndex(of: ":") else { return nil }
        let candidate = message[..<colon]
        let allowed = candidate.utf8.allSatisfy { byte in
            (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x2E || byte == 0x5F
        }
        return allowed && candidate.contains(".") ? String(candidate) : nil
    }
}
