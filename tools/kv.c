/* kv - command-line client of the engine (placeholder until the engine lands).
 */
int main(void)
{
    return 0;
}
