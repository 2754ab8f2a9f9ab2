// The README's NestJS quick start, as a user would type it; only needs to type-check.
import 'reflect-metadata';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { AnyScope, Auth, Public, Scopes, TokenwardGuard, TokenwardModule, type AccessToken } from '@tokenward/nest';

@Controller('messages')
@UseGuards(TokenwardGuard)
export class MessagesController {
  @Get()
  @Scopes('read:messages')
  list(@Auth() auth: AccessToken) {
    return { user: auth.subject };
  }

  @Get('any')
  @AnyScope('read:messages', 'admin')
  any(@Auth() auth: AccessToken) {
    return { scopes: [...auth.scopes] };
  }

  @Get('health')
  @Public()
  health() {
    return 'ok';
  }
}

@Module({
  imports: [TokenwardModule.forRoot({ issuer: 'https://auth.example.com/', audience: 'https://api.example.com' })],
  controllers: [MessagesController],
})
export class AppModule {}
