import GatewayCore

/// Turns a plugin's refusal into the client-facing error, without reading the plugin's text:
///
///   an ABI 1.2 plugin that set a code (gw_message_refuse) → that code, with its HTTP status
///                                                           (the stage's default when it gave none)
///   no code, and the bytes contradict the declared type   → 415 attachment.content_mismatch
///   no code, at validation                                → 415 attachment.unsupported_type
///   no code, at thumbnailing                              → 422 attachment.bad_image
enum AttachmentRefusal {
    enum Stage { case validation, thumbnail }

    static func error(message: String, code: String?, status: Int?, stage: Stage,
                      contradictsDeclaredType: Bool) -> GatewayError {
        if let code {
            return GatewayError(code: code, message: message, status: status ?? defaultStatus(stage))
        }
        if contradictsDeclaredType { return .attachmentContentMismatch(message) }
        switch stage {
        case .validation: return .attachmentUnsupportedType(message)
        case .thumbnail: return .attachmentBadImage(message)
        }
    }

    static func defaultStatus(_ stage: Stage) -> Int {
        stage == .validation ? 415 : 422
    }
}
