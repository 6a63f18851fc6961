login-title = Kirjaudu sisään
login-submit = Kirjaudu
login-forgot = Unohditko salasanasi?
login-failed = Sähköposti tai salasana on väärin.
login-throttled = Liian monta epäonnistunutta yritystä. Odota 15 minuuttia ja yritä uudelleen tai vaihda salasanasi.
login-no-workspace = Tilisi ei vielä kuulu mihinkään työtilaan. Pyydä kutsu.
login-reset-done = Salasanasi on vaihdettu. Kirjaudu uudella salasanalla.
field-email = Sähköposti
field-password = Salasana
field-new-password = Uusi salasana
field-confirm-password = Uusi salasana uudelleen
field-name = Nimesi
password-hint = Vähintään 10 merkkiä.
password-too-short = Salasanassa on oltava vähintään 10 merkkiä.
password-too-long = Salasanassa saa olla enintään 256 merkkiä.
password-mismatch = Salasanat eivät täsmää.
name-invalid = Nimi ei kelpaa.
forgot-title = Vaihda salasana
forgot-intro = Anna sähköpostiosoitteesi, niin lähetämme linkin uuden salasanan valitsemiseen.
forgot-submit = Lähetä linkki
forgot-sent = Jos osoitteella on tili, salasanan vaihtolinkki on matkalla. Se toimii tunnin ajan.
back-to-login = Takaisin kirjautumiseen
reset-title = Valitse uusi salasana
reset-submit = Vaihda salasana
invitation-title = Kutsu
invitation-heading = Liity työtilaan { $workspace } Onepanessa
invitation-for = Kutsu on osoitteelle { $email }.
invitation-existing = Sinulla on jo tili: liity antamalla salasanasi.
invitation-accept = Liity työtilaan
mail-reset-subject = Vaihda Onepane-salasanasi
mail-reset-body = Tämän Onepane-tilin salasanan vaihtoa pyydettiin. Valitse uusi salasana avaamalla tämä linkki tunnin kuluessa:

    { $link }

    Jos pyyntö ei ollut sinun, voit jättää viestin huomiotta: salasanasi pysyy ennallaan.
mail-invite-subject = Sinut on kutsuttu työtilaan { $workspace } Onepanessa
mail-invite-body = Sinut on kutsuttu liittymään työtilaan { $workspace } Onepanessa. Hyväksy kutsu avaamalla tämä linkki seitsemän päivän kuluessa:

    { $link }
