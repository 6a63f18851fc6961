login-title = Log in
login-submit = Log in
login-forgot = Forgot your password?
login-failed = The email or password is wrong.
login-throttled = Too many failed attempts. Wait 15 minutes and try again, or reset your password.
login-no-workspace = Your account is not a member of any workspace yet. Ask for an invitation.
login-reset-done = Your password is changed. Log in with the new one.
field-email = Email
field-password = Password
field-new-password = New password
field-confirm-password = Repeat the new password
field-name = Your name
password-hint = At least 10 characters.
password-too-short = The password must be at least 10 characters long.
password-too-long = The password must be at most 256 characters long.
password-mismatch = The two passwords differ.
name-invalid = The name is not valid.
forgot-title = Reset your password
forgot-intro = Enter your email and we will send you a link to choose a new password.
forgot-submit = Send the link
forgot-sent = If the address has an account, a link to reset the password is on its way. It works for one hour.
back-to-login = Back to log in
reset-title = Choose a new password
reset-submit = Change the password
invitation-title = Invitation
invitation-heading = Join { $workspace } on Onepane
invitation-for = This invitation is for { $email }.
invitation-existing = You already have an account: enter your password to join.
invitation-accept = Join the workspace
mail-reset-subject = Reset your Onepane password
mail-reset-body = Someone asked to reset the password of this Onepane account. To choose a new password, open this link within an hour:

    { $link }

    If it was not you, ignore this message: your password stays as it is.
mail-invite-subject = You are invited to { $workspace } on Onepane
mail-invite-body = You are invited to join { $workspace } on Onepane. Open this link within seven days to accept:

    { $link }
