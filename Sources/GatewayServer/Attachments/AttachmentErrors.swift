import GatewayCore

/// Every refusal the attachment API can give, each with a stable code a client can branch on.
extension GatewayError {
    static func attachmentTooLarge(_ limit: Int) -> GatewayError {
        GatewayError(code: "attachment.too_large",
                     message: "The attachment is larger than the limit of \(limit) bytes ([attachments] max_bytes).", status: 413)
    }

    static func attachmentUnsupportedType(_ reason: String) -> GatewayError {
        GatewayError(code: "attachment.unsupported_type", message: reason, status: 415)
    }

    static func attachmentContentMismatch(_ reason: String) -> GatewayError {
        GatewayError(code: "attachment.content_mismatch", message: reason, status: 415)
    }

    static func attachmentBadImage(_ reason: String) -> GatewayError {
        GatewayError(code: "attachment.bad_image", message: reason, status: 422)
    }

    static func attachmentEmpty() -> GatewayError {
        GatewayError(code: "attachment.empty", message: "The upload has no bytes: send the file as the request body.", status: 400)
    }

    static func attachmentBadMultipart(_ reason: String) -> GatewayError {
        GatewayError(code: "attachment.bad_multipart", message: reason, status: 400)
    }

    static func attachmentUnknown(_ id: String) -> GatewayError {
        GatewayError(code: "attachment.unknown",
                     message: "No attachment has id '\(id)'. Upload it first with POST /api/v1/attachments.", status: 400)
    }

    static func attachmentForbidden(_ id: String) -> GatewayError {
        GatewayError(code: "attachment.forbidden",
                     message: "Attachment '\(id)' was neither uploaded by you nor shared with you.", status: 403)
    }

    static func attachmentInvalid(_ reason: String) -> GatewayError {
        GatewayError(code: "attachment.invalid", message: reason, status: 400)
    }

    static func attachmentRejected(_ reason: String) -> GatewayError {
        GatewayError(code: "attachment.rejected", message: reason, status: 400)
    }

    static func attachmentPluginFailed(_ plugin: String, _ reason: String) -> GatewayError {
        GatewayError(code: "attachment.plugin_failed",
                     message: "Plugin '\(plugin)' failed on this attachment: \(reason). See the gateway log.", status: 500)
    }

    static func attachmentStorageFailed() -> GatewayError {
        GatewayError(code: "attachment.storage_failed", message: "The attachment could not be stored; see the gateway log.", status: 500)
    }

    static func attachmentsDisabled() -> GatewayError {
        GatewayError(code: "attachment.disabled", message: "Attachments are not configured on this gateway.", status: 404)
    }

    static func attachmentNoThumbnail(_ id: String) -> GatewayError {
        GatewayError(code: "attachment.no_thumbnail", message: "Attachment '\(id)' has no thumbnail (only images get one).", status: 404)
    }

    static func attachmentRangeNotSatisfiable(_ size: Int64) -> GatewayError {
        GatewayError(code: "attachment.range_not_satisfiable",
                     message: "The requested byte range lies outside the \(size) bytes of this attachment.", status: 416)
    }
}
