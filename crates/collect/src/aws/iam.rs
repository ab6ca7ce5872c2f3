//! IAM (global): users with their MFA devices, keys, groups and policies; groups; roles;
//! customer managed and attached AWS managed policies with their documents; and the account's
//! settings (password policy, account summary, credential report, virtual MFA devices, server
//! certificates, the support role, identity providers).

use aws_sdk_iam::Client;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::{ReportStateType, Tag};
use serde_json::{Map, Value, json};

use super::support::{AwsError, Ctx, Spec, absent_on, failed, incomplete, policy_document, text, time};
use crate::Emitter;

const SERVICE: &str = "iam";

pub(crate) async fn collect(ctx: &Ctx, out: &Emitter) -> Result<(), AwsError> {
    let client = Client::new(&ctx.config);
    account_settings(ctx, &client, out).await?;
    users(ctx, &client, out).await?;
    groups(ctx, &client, out).await?;
    roles(ctx, &client, out).await?;
    policies(ctx, &client, out).await
}

async fn account_settings(ctx: &Ctx, client: &Client, out: &Emitter) -> Result<(), AwsError> {
    let policy = absent_on(
        "iam:GetAccountPasswordPolicy",
        client.get_account_password_policy().send().await,
        &["NoSuchEntity"],
    )?;
    let password_policy = policy.and_then(|p| p.password_policy().cloned()).map_or(Value::Null, |p| {
        json!({
            "MinimumPasswordLength": p.minimum_password_length(),
            "RequireSymbols": p.require_symbols(),
            "RequireNumbers": p.require_numbers(),
            "RequireUppercaseCharacters": p.require_uppercase_characters(),
            "RequireLowercaseCharacters": p.require_lowercase_characters(),
            "AllowUsersToChangePassword": p.allow_users_to_change_password(),
            "ExpirePasswords": p.expire_passwords(),
            "MaxPasswordAge": p.max_password_age(),
            "PasswordReusePrevention": p.password_reuse_prevention(),
            "HardExpiry": p.hard_expiry(),
        })
    });
    let summary =
        client.get_account_summary().send().await.map_err(|e| failed("iam:GetAccountSummary", e))?;
    // An answer without the summary is no summary: an empty one would read as "no root keys".
    let summary: Map<String, Value> = summary
        .summary_map()
        .filter(|map| !map.is_empty())
        .map(|map| map.iter().map(|(k, v)| (k.as_str().to_owned(), json!(v))).collect())
        .ok_or_else(|| incomplete("iam:GetAccountSummary", "the answer holds no account summary"))?;
    let mfa_devices = client
        .list_virtual_mfa_devices()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("iam:ListVirtualMFADevices", e))?;
    let mfa_devices: Vec<Value> = mfa_devices
        .iter()
        .map(|d| {
            json!({
                "SerialNumber": d.serial_number(),
                "UserArn": text(d.user().map(|u| u.arn())),
                "EnableDate": time(d.enable_date()),
            })
        })
        .collect();
    let certificates = client
        .list_server_certificates()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("iam:ListServerCertificates", e))?;
    let certificates: Vec<Value> = certificates
        .iter()
        .map(|c| {
            json!({
                "ServerCertificateName": c.server_certificate_name(),
                "Arn": c.arn(),
                "Expiration": time(c.expiration()),
                "UploadDate": time(c.upload_date()),
            })
        })
        .collect();
    let support = client
        .list_entities_for_policy()
        .policy_arn("arn:aws:iam::aws:policy/AWSSupportAccess")
        .into_paginator()
        .send()
        .try_collect()
        .await;
    let support_roles: Value = match absent_on("iam:ListEntitiesForPolicy", support, &["NoSuchEntity"])? {
        Some(pages) => json!(
            pages
                .iter()
                .flat_map(|page| page.policy_roles().iter().map(|r| r.role_name()))
                .collect::<Vec<_>>()
        ),
        None => json!([]),
    };
    let saml = client.list_saml_providers().send().await.map_err(|e| failed("iam:ListSAMLProviders", e))?;
    let oidc = client
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(|e| failed("iam:ListOpenIDConnectProviders", e))?;
    let attributes = json!({
        "PasswordPolicy": password_policy,
        "AccountSummary": summary,
        "CredentialReport": credential_report(client).await?,
        "VirtualMFADevices": mfa_devices,
        "ServerCertificates": certificates,
        "SupportPolicyRoles": support_roles,
        "SAMLProviders": saml.saml_provider_list().iter().map(|p| text(p.arn())).collect::<Vec<_>>(),
        "OpenIDConnectProviders": oidc.open_id_connect_provider_list().iter().map(|p| text(p.arn())).collect::<Vec<_>>(),
    });
    let spec = Spec {
        kind: "account",
        id: ctx.account.clone(),
        key: Some(ctx.settings_key("iam-account")),
        name: Some(format!("IAM settings of {}", ctx.account)),
        attributes,
        ..Spec::default()
    };
    ctx.emit(out, SERVICE, spec).await
}

/// The credential report's rows as objects keyed by its column names. The report is generated
/// first; AWS builds it asynchronously, so generation is polled briefly.
async fn credential_report(client: &Client) -> Result<Value, AwsError> {
    let mut ready = false;
    for _ in 0..20 {
        let state = client
            .generate_credential_report()
            .send()
            .await
            .map_err(|e| failed("iam:GenerateCredentialReport", e))?;
        if state.state() == Some(&ReportStateType::Complete) {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    // An old or missing report would judge today's credentials on yesterday's (or no) rows.
    if !ready {
        return Err(incomplete("iam:GenerateCredentialReport", "the report was not ready after 10 s"));
    }
    let report =
        client.get_credential_report().send().await.map_err(|e| failed("iam:GetCredentialReport", e))?;
    let content = report
        .content()
        .map(|blob| blob.as_ref().to_vec())
        .filter(|bytes| !bytes.is_empty())
        .ok_or_else(|| incomplete("iam:GetCredentialReport", "the report has no content"))?;
    let mut reader = csv::Reader::from_reader(content.as_slice());
    let headers = reader
        .headers()
        .map_err(|e| AwsError::Call { operation: "iam:GetCredentialReport".into(), message: e.to_string() })?
        .clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| AwsError::Call {
            operation: "iam:GetCredentialReport".into(),
            message: e.to_string(),
        })?;
        let row: Map<String, Value> = headers
            .iter()
            .zip(record.iter())
            .map(|(h, v)| (h.to_owned(), Value::String(v.to_owned())))
            .collect();
        rows.push(Value::Object(row));
    }
    Ok(Value::Array(rows))
}

/// `None` when the entity was deleted between listing it and reading it (IAM answers
/// NoSuchEntity): it is gone, which the next sync records, not a failure of the whole scope.
fn entity<T, E, R>(operation: &str, result: Result<T, SdkError<E, R>>) -> Result<Option<T>, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error,
    R: std::fmt::Debug,
{
    absent_on(operation, result, &["NoSuchEntity"])
}

async fn users(ctx: &Ctx, client: &Client, out: &Emitter) -> Result<(), AwsError> {
    let users = client
        .list_users()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("iam:ListUsers", e))?;
    for user in users {
        match user_spec(client, &user).await? {
            Some(spec) => ctx.emit(out, SERVICE, spec).await?,
            None => tracing::debug!(message = "IAM user deleted while being read.", user = user.user_name()),
        }
    }
    Ok(())
}

/// One user's document, every list read to its last page; `None` when the user was deleted
/// meanwhile.
async fn user_spec(client: &Client, user: &aws_sdk_iam::types::User) -> Result<Option<Spec>, AwsError> {
    let name = user.user_name();
    // NoSuchEntity here means "no console password", not "gone".
    let login = absent_on(
        "iam:GetLoginProfile",
        client.get_login_profile().user_name(name).send().await,
        &["NoSuchEntity"],
    )?;
    let mfa = client.list_mfa_devices().user_name(name).into_paginator().items().send().try_collect().await;
    let Some(mfa) = entity("iam:ListMFADevices", mfa)? else { return Ok(None) };
    let keys = client.list_access_keys().user_name(name).into_paginator().items().send().try_collect().await;
    let Some(keys) = entity("iam:ListAccessKeys", keys)? else { return Ok(None) };
    let mut access_keys = Vec::new();
    for key in &keys {
        let id = key.access_key_id().unwrap_or_default();
        let used = client.get_access_key_last_used().access_key_id(id).send().await;
        let Some(used) = entity("iam:GetAccessKeyLastUsed", used)? else { return Ok(None) };
        access_keys.push(json!({
            "AccessKeyId": id,
            "Status": key.status().map(|s| s.as_str()),
            "CreateDate": time(key.create_date()),
            "LastUsedDate": time(used.access_key_last_used().and_then(|u| u.last_used_date())),
        }));
    }
    let groups =
        client.list_groups_for_user().user_name(name).into_paginator().items().send().try_collect().await;
    let Some(groups) = entity("iam:ListGroupsForUser", groups)? else { return Ok(None) };
    let attached = client
        .list_attached_user_policies()
        .user_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await;
    let Some(attached) = entity("iam:ListAttachedUserPolicies", attached)? else { return Ok(None) };
    let inline =
        client.list_user_policies().user_name(name).into_paginator().items().send().try_collect().await;
    let Some(inline) = entity("iam:ListUserPolicies", inline)? else { return Ok(None) };
    let mut inline_policies = Vec::new();
    for policy in &inline {
        let document = client.get_user_policy().user_name(name).policy_name(policy).send().await;
        let Some(document) = entity("iam:GetUserPolicy", document)? else { return Ok(None) };
        inline_policies
            .push(json!({"PolicyName": policy, "Document": policy_document(document.policy_document())}));
    }
    // Listing users leaves their tags out; they are read one user at a time.
    let user_tags =
        client.list_user_tags().user_name(name).into_paginator().items().send().try_collect().await;
    let Some(user_tags) = entity("iam:ListUserTags", user_tags)? else { return Ok(None) };
    let attributes = json!({
        "UserName": name,
        "UserId": user.user_id(),
        "Arn": user.arn(),
        "Path": user.path(),
        "CreateDate": time(Some(user.create_date())),
        "PasswordLastUsed": time(user.password_last_used()),
        "LoginProfile": login.and_then(|l| l.login_profile().map(|p| json!({"CreateDate": time(Some(p.create_date()))}))),
        "MFADevices": mfa.iter().map(|d| json!({"SerialNumber": d.serial_number(), "EnableDate": time(Some(d.enable_date()))})).collect::<Vec<_>>(),
        "AccessKeys": access_keys,
        "Groups": groups.iter().map(|g| g.group_name()).collect::<Vec<_>>(),
        "AttachedPolicies": attached_list(&attached),
        "InlinePolicies": inline_policies,
    });
    Ok(Some(Spec {
        kind: "user",
        id: name.to_owned(),
        arn: Some(user.arn().to_owned()),
        name: Some(name.to_owned()),
        tags: tags(&user_tags),
        attributes,
        ..Spec::default()
    }))
}

async fn groups(ctx: &Ctx, client: &Client, out: &Emitter) -> Result<(), AwsError> {
    let groups = client
        .list_groups()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("iam:ListGroups", e))?;
    for group in groups {
        let name = group.group_name();
        let attached = client
            .list_attached_group_policies()
            .group_name(name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await;
        let Some(attached) = entity("iam:ListAttachedGroupPolicies", attached)? else { continue };
        let inline =
            client.list_group_policies().group_name(name).into_paginator().items().send().try_collect().await;
        let Some(inline) = entity("iam:ListGroupPolicies", inline)? else { continue };
        let attributes = json!({
            "GroupName": name,
            "GroupId": group.group_id(),
            "Arn": group.arn(),
            "Path": group.path(),
            "CreateDate": time(Some(group.create_date())),
            "AttachedPolicies": attached_list(&attached),
            "InlinePolicyNames": inline,
        });
        let spec = Spec {
            kind: "group",
            id: name.to_owned(),
            arn: Some(group.arn().to_owned()),
            name: Some(name.to_owned()),
            attributes,
            ..Spec::default()
        };
        ctx.emit(out, SERVICE, spec).await?;
    }
    Ok(())
}

async fn roles(ctx: &Ctx, client: &Client, out: &Emitter) -> Result<(), AwsError> {
    let roles = client
        .list_roles()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("iam:ListRoles", e))?;
    for role in roles {
        let name = role.role_name();
        let attached = client
            .list_attached_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await;
        let Some(attached) = entity("iam:ListAttachedRolePolicies", attached)? else { continue };
        let inline =
            client.list_role_policies().role_name(name).into_paginator().items().send().try_collect().await;
        let Some(inline) = entity("iam:ListRolePolicies", inline)? else { continue };
        let role_tags =
            client.list_role_tags().role_name(name).into_paginator().items().send().try_collect().await;
        let Some(role_tags) = entity("iam:ListRoleTags", role_tags)? else { continue };
        let attributes = json!({
            "RoleName": name,
            "RoleId": role.role_id(),
            "Arn": role.arn(),
            "Path": role.path(),
            "CreateDate": time(Some(role.create_date())),
            "AssumeRolePolicyDocument": role.assume_role_policy_document().map(policy_document),
            "Description": role.description(),
            "MaxSessionDuration": role.max_session_duration(),
            "AttachedPolicies": attached_list(&attached),
            "InlinePolicyNames": inline,
        });
        let spec = Spec {
            kind: "role",
            id: name.to_owned(),
            arn: Some(role.arn().to_owned()),
            name: Some(name.to_owned()),
            tags: tags(&role_tags),
            attributes,
            ..Spec::default()
        };
        ctx.emit(out, SERVICE, spec).await?;
    }
    Ok(())
}

/// Customer managed policies (all) and AWS managed policies that are attached (CIS 1.16 looks
/// at every attached policy), each with its default version's document.
async fn policies(ctx: &Ctx, client: &Client, out: &Emitter) -> Result<(), AwsError> {
    use aws_sdk_iam::types::PolicyScopeType;
    let scopes = [(PolicyScopeType::Local, false), (PolicyScopeType::Aws, true)];
    for (scope, only_attached) in scopes {
        let policies = client
            .list_policies()
            .scope(scope.clone())
            .only_attached(only_attached)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| failed("iam:ListPolicies", e))?;
        for policy in policies {
            let (Some(arn), Some(version)) = (policy.arn(), policy.default_version_id()) else { continue };
            let document = client.get_policy_version().policy_arn(arn).version_id(version).send().await;
            let Some(document) = entity("iam:GetPolicyVersion", document)? else { continue };
            let document = document.policy_version().and_then(|v| v.document()).map(policy_document);
            let name = policy.policy_name().unwrap_or_default();
            let attributes = json!({
                "PolicyName": name,
                "PolicyId": policy.policy_id(),
                "Arn": arn,
                "Path": policy.path(),
                "DefaultVersionId": version,
                "AttachmentCount": policy.attachment_count(),
                "IsAttachable": policy.is_attachable(),
                "AwsManaged": scope == PolicyScopeType::Aws,
                "Document": document,
            });
            let spec = Spec {
                kind: "policy",
                id: name.to_owned(),
                arn: Some(arn.to_owned()),
                name: Some(name.to_owned()),
                attributes,
                ..Spec::default()
            };
            ctx.emit(out, SERVICE, spec).await?;
        }
    }
    Ok(())
}

fn attached_list(policies: &[aws_sdk_iam::types::AttachedPolicy]) -> Vec<Value> {
    policies.iter().map(|p| json!({"PolicyName": p.policy_name(), "PolicyArn": p.policy_arn()})).collect()
}

fn tags(tags: &[Tag]) -> std::collections::BTreeMap<String, String> {
    tags.iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect()
}
