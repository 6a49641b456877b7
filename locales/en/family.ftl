# Dependants (issue 18 item 4): only from official records.

cmd-family = Your children from official records
family-empty = No dependants are linked to you. Children are linked only from official records (the civil registry, school lists), never by typing an IIN.
family-list =
    Your dependants from official records ({ $count }):
    { $list }
    They come from the civil registry and school lists; to correct them, contact the registry office or the school.
