//! Account (global): the alternate contacts (CIS 1.2 needs the security contact).

use aws_sdk_account::types::AlternateContactType;
use serde_json::{Map, Value, json};

use super::support::{AwsError, Ctx, Spec, absent_on};
use crate::Emitter;

pub(crate) async fn collect(ctx: &Ctx, out: &Emitter) -> Result<(), AwsError> {
    let client = aws_sdk_account::Client::new(&ctx.config);
    let mut contacts = Map::new();
    for kind in
        [AlternateContactType::Security, AlternateContactType::Billing, AlternateContactType::Operations]
    {
        let contact = absent_on(
            "account:GetAlternateContact",
            client.get_alternate_contact().alternate_contact_type(kind.clone()).send().await,
            &["ResourceNotFoundException"],
        )?;
        let value = contact.and_then(|c| c.alternate_contact().cloned()).map_or(Value::Null, |c| {
            json!({"Name": c.name(), "EmailAddress": c.email_address(), "PhoneNumber": c.phone_number(), "Title": c.title()})
        });
        contacts.insert(kind.as_str().to_owned(), value);
    }
    let spec = Spec {
        kind: "account",
        id: ctx.account.clone(),
        key: Some(ctx.settings_key("account")),
        name: Some(format!("AWS account {}", ctx.account)),
        attributes: json!({"AccountId": ctx.account, "AlternateContacts": contacts}),
        ..Spec::default()
    };
    ctx.emit(out, "account", spec).await
}
