//! The plugin trait and the macro that exports it as the world's `Guest`.

use crate::{Document, Manifest, Refusal, Request, RequestContext, Subject, panic};

/// A certificate plugin: one municipality's template and eligibility rules.
///
/// Implement it on a unit struct and export it with
/// [`export_certificate!`](crate::export_certificate). The host calls
/// [`manifest`](Certificate::manifest) once when it loads the plugin, then,
/// for each request, [`check`](Certificate::check) and, if it accepted,
/// [`render`](Certificate::render) in the same fresh instance.
pub trait Certificate {
    /// Describe the plugin: kind, names, version, the fields it reads, its
    /// options and fee. Must depend on nothing but the plugin itself.
    fn manifest() -> Manifest;

    /// Decide whether `subject` may be issued the certificate with the
    /// options of `request`. A refusal is shown to the resident.
    fn check(subject: &Subject, request: &Request) -> Result<(), Refusal>;

    /// Lay out the certificate for `subject`. Called only after `check`
    /// accepted; may still refuse.
    fn render(subject: &Subject, request: &Request) -> Result<Document, Refusal>;
}

/// Export a [`Certificate`] implementation as the component's
/// `manifest`, `check` and `render`.
///
/// Use it once per plugin crate, at module level:
///
/// ```no_run
/// # use kofu_plugin_sdk::{Certificate, Document, DocumentBuilder, Manifest, Refusal, Request, Subject};
/// # struct MyPlugin;
/// # impl Certificate for MyPlugin {
/// #     fn manifest() -> Manifest { Manifest::new("my-plugin", "見本", "Sample", "1.0.0", 0) }
/// #     fn check(_: &Subject, _: &Request) -> Result<(), Refusal> { Ok(()) }
/// #     fn render(_: &Subject, request: &Request) -> Result<Document, Refusal> {
/// #         Ok(DocumentBuilder::new("見本").certification("証明する。").signed_by(request).build())
/// #     }
/// # }
/// kofu_plugin_sdk::export_certificate!(MyPlugin);
/// ```
#[macro_export]
macro_rules! export_certificate {
    ($plugin:ty) => {
        // A block keeps the adapter's name out of the plugin's namespace.
        const _: () = {
            struct KofuCertificateExport;

            impl $crate::bindings::Guest for KofuCertificateExport {
                fn manifest() -> $crate::Manifest {
                    $crate::__private::manifest::<$plugin>()
                }

                fn check(
                    subject: &$crate::Subject,
                    context: $crate::RequestContext,
                ) -> ::core::result::Result<(), $crate::Refusal> {
                    $crate::__private::check::<$plugin>(subject, context)
                }

                fn render(
                    subject: &$crate::Subject,
                    context: $crate::RequestContext,
                ) -> ::core::result::Result<$crate::Document, $crate::Refusal> {
                    $crate::__private::render::<$plugin>(subject, context)
                }
            }

            $crate::bindings::__export_certificate_world!(
                KofuCertificateExport with_types_in $crate::bindings
            );
        };
    };
}

// The adapter's bodies live here, not in the macro, so that plugins expand as
// little code as possible and every entry point installs the panic hook.

/// `manifest` export: install the panic hook, then ask the plugin.
pub fn manifest<P: Certificate>() -> Manifest {
    panic::install_hook();
    P::manifest()
}

/// `check` export: wrap the context in a [`Request`] and ask the plugin.
pub fn check<P: Certificate>(subject: &Subject, context: RequestContext) -> Result<(), Refusal> {
    panic::install_hook();
    P::check(subject, &Request::new(context))
}

/// `render` export: wrap the context in a [`Request`] and ask the plugin.
pub fn render<P: Certificate>(subject: &Subject, context: RequestContext) -> Result<Document, Refusal> {
    panic::install_hook();
    P::render(subject, &Request::new(context))
}
