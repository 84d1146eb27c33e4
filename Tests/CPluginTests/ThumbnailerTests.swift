// The thumbnailer on good input: real images made with libgd, thumbnails checked by decoding.
import CGatewayPlugin
import Foundation
import Testing

@Suite("Thumbnailer plugin: descriptor, config, thumbnails")
struct ThumbnailerTests {
    let plugin: LoadedCPlugin
    let gd: GDLibrary

    init() throws {
        plugin = try LoadedCPlugin.load(product: "Thumbnailer")
        gd = try GDLibrary.require()
    }

    @Test func descriptorDeclaresThumbnailAndValidation() {
        let descriptor = plugin.descriptor.pointee
        #expect(descriptor.struct_size >= MemoryLayout<gw_plugin_descriptor>.size)
        #expect(descriptor.abi_major == UInt32(GW_PLUGIN_ABI_MAJOR))
        #expect(plugin.name == "thumbnailer")
        #expect(descriptor.capabilities == gw_capabilities(GW_CAP_THUMBNAIL | GW_CAP_ATTACHMENT_VALIDATION))
        #expect(descriptor.on_thumbnail != nil && descriptor.on_validate_attachment != nil)
        #expect(descriptor.on_targets == nil && descriptor.on_filter == nil)
    }

    @Test(arguments: [
        (#"{"colour": 1}"#, "thumbnailer.config_unknown_key: unknown key 'colour'"),
        (#"{"jpeg_quality": 0}"#, "thumbnailer.config_invalid_value: 'jpeg_quality'"),
        (#"{"max_pixels": "lots"}"#, "thumbnailer.config_invalid_value: 'max_pixels'"),
        (#"{"max_bytes": 4294967296}"#, "thumbnailer.config_invalid_value: 'max_bytes'"),
        (#"[1, 2]"#, "thumbnailer.config_invalid:"),
    ])
    func badConfigIsRefusedWithACode(config: String, expected: String) throws {
        switch try plugin.create(config: config) {
        case .success(let instance):
            instance.destroy()
            Issue.record("create accepted \(config)")
        case .failure(let refusal):
            #expect(refusal.message.hasPrefix(expected), "got: \(refusal.message)")
        }
    }

    @Test(arguments: [GDLibrary.Format.png, .jpeg, .gif])
    func wideImageFitsTheBoxWithItsAspectKept(format: GDLibrary.Format) throws {
        let instance = try plugin.instance()
        defer { instance.destroy() }
        let input = gd.twoHalves(width: 400, height: 200, format: format)
        let mime = format == .png ? "image/png" : format == .gif ? "image/gif" : "image/jpeg"
        let outcome = instance.thumbnail(input, mime: mime)
        #expect(outcome.result == Code.ok, "\(outcome.message)")
        #expect(outcome.mime == (format == .jpeg ? "image/jpeg" : "image/png"))
        #expect((outcome.width, outcome.height) == (100, 50))

        let decoded = try #require(gd.decode(outcome.bytes, mime: outcome.mime) { image in
            (image.width, image.height, image.pixel(10, 25), image.pixel(90, 25))
        }, "the thumbnail bytes do not decode as \(outcome.mime)")
        #expect((decoded.0, decoded.1) == (100, 50))
        let (left, right) = (decoded.2, decoded.3)
        if format == .gif {
            #expect(left.alpha == 127, "the transparent half must stay transparent: \(left)")
            #expect(right.alpha == 0 && right.green > 150 && right.red < 60, "\(right)")
        } else {
            #expect(left.red > 170 && left.blue < 80, "left half should be red: \(left)")
            #expect(right.blue > 170 && right.red < 80, "right half should be blue: \(right)")
        }
    }

    @Test func tallImageIsLimitedByHeight() throws {
        let instance = try plugin.instance()
        defer { instance.destroy() }
        let outcome = instance.thumbnail(gd.twoHalves(width: 120, height: 300, format: .png), mime: "image/png")
        #expect(outcome.result == Code.ok, "\(outcome.message)")
        #expect((outcome.width, outcome.height) == (40, 100))
        let size = gd.decode(outcome.bytes, mime: "image/png") { ($0.width, $0.height) }
        #expect(size.map { [$0.0, $0.1] } == [40, 100])
    }

    @Test func smallImageIsNeverEnlarged() throws {
        let instance = try plugin.instance()
        defer { instance.destroy() }
        let outcome = instance.thumbnail(gd.twoHalves(width: 60, height: 40, format: .jpeg), mime: "image/jpeg")
        #expect(outcome.result == Code.ok, "\(outcome.message)")
        #expect((outcome.width, outcome.height) == (60, 40))
        let size = gd.decode(outcome.bytes, mime: "image/jpeg") { ($0.width, $0.height) }
        #expect(size.map { [$0.0, $0.1] } == [60, 40])
    }

    @Test func customBoxAndMimeParametersAreHonoured() throws {
        let instance = try plugin.instance()
        defer { instance.destroy() }
        let outcome = instance.thumbnail(gd.twoHalves(width: 300, height: 300, format: .png),
                                         mime: "IMAGE/PNG; charset=binary", box: (64, 32))
        #expect(outcome.result == Code.ok, "\(outcome.message)")
        #expect((outcome.width, outcome.height) == (32, 32))
    }

    @Test func progressiveJPEGWithinTheScanLimitWorks() throws {
        let instance = try plugin.instance()
        defer { instance.destroy() }
        let outcome = instance.thumbnail(gd.twoHalves(width: 200, height: 100, format: .progressiveJPEG), mime: "image/jpeg")
        #expect(outcome.result == Code.ok, "\(outcome.message)")
        #expect((outcome.width, outcome.height) == (100, 50))
    }

    @Test func validationAcceptsGoodImagesAndSkipsOtherTypes() throws {
        let instance = try plugin.instance()
        defer { instance.destroy() }
        let png = gd.twoHalves(width: 50, height: 50, format: .png)
        let accepted = try instance.validate(png, metadata: #"{"type": "image", "mime": "image/png", "size": 1}"#)
        #expect(accepted.result == Code.ok, "\(accepted.message)")
        let skipped = try instance.validate(Array("hello".utf8), metadata: #"{"type": "file", "mime": "text/plain"}"#)
        #expect(skipped.result == Code.skip)
        let link = try instance.validate(nil, metadata: #"{"type": "youtube", "url": "https://example.invalid/v"}"#)
        #expect(link.result == Code.skip)
    }

    @Test func concurrentCallsOnOneInstanceAllSucceed() async throws {
        let instance = try plugin.instance()
        defer { instance.destroy() }
        let inputs = [
            (gd.twoHalves(width: 400, height: 200, format: .png), "image/png"),
            (gd.twoHalves(width: 400, height: 200, format: .jpeg), "image/jpeg"),
            (gd.twoHalves(width: 400, height: 200, format: .gif), "image/gif"),
        ]
        let sizes = await withTaskGroup(of: [Int].self) { group in
            for round in 0..<24 {
                let (bytes, mime) = inputs[round % inputs.count]
                group.addTask { let o = instance.thumbnail(bytes, mime: mime); return [Int(o.result), o.width, o.height] }
            }
            var all: [[Int]] = []
            for await size in group { all.append(size) }
            return all
        }
        #expect(sizes.count == 24)
        #expect(sizes.allSatisfy { $0 == [0, 100, 50] }, "\(sizes)")
    }

    /// Not a timed assertion: prints the cost of a typical upload for the report, and checks the
    /// output of every repetition.
    @Test func typicalPhotoThumbnailCost() throws {
        let instance = try plugin.instance()
        defer { instance.destroy() }
        let photo = gd.photoLike(width: 1600, height: 1200, format: .jpeg)
        var seconds: [Double] = []
        for _ in 0..<10 {
            let outcome = instance.thumbnail(photo, mime: "image/jpeg")
            #expect(outcome.result == Code.ok && (outcome.width, outcome.height) == (100, 75), "\(outcome.message)")
            seconds.append(outcome.seconds)
        }
        let sorted = seconds.sorted()
        print("thumbnailer: 1600x1200 JPEG (\(photo.count) bytes) -> 100x75: median \(String(format: "%.1f", sorted[5] * 1000)) ms, "
              + "min \(String(format: "%.1f", sorted[0] * 1000)) ms over \(seconds.count) runs")
    }
}
